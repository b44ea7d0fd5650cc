// Minimal SVG line/scatter charts for the benchmark report (no plotting dependency for three charts).
export interface Series {
  name: string;
  points: Array<[number, number]>;
  dashed?: boolean;
  markersOnly?: boolean;
}

const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

export function lineChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
  lines?: Array<{ name: string; points: Array<[number, number]> }>;
}): string {
  const width = options.width ?? 720;
  const height = options.height ?? 420;
  const margin = { left: 70, right: 230, top: 40, bottom: 50 };
  const all = [...options.series.flatMap((s) => s.points), ...(options.lines ?? []).flatMap((l) => l.points)].filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const tx = (v: number) => (options.logX ? Math.log2(v) : v);
  const ty = (v: number) => (options.logY ? Math.log10(v) : v);
  const xs = all.map(([x]) => tx(x));
  const ys = all.map(([, y]) => ty(y));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [options.logY ? Math.min(...ys) : Math.min(0, ...ys), Math.max(...ys) * (options.logY ? 1 : 1.08)];
  const px = (x: number) => margin.left + ((tx(x) - x0) / (x1 - x0 || 1)) * (width - margin.left - margin.right);
  const py = (y: number) => height - margin.bottom - ((ty(y) - y0) / (y1 - y0 || 1)) * (height - margin.top - margin.bottom);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(options.title)}</text>`);
  parts.push(`<line x1="${margin.left}" y1="${height - margin.bottom}" x2="${width - margin.right}" y2="${height - margin.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${height - margin.bottom}" stroke="#333"/>`);
  const xTicks = [...new Set(all.map(([x]) => x))].sort((a, b) => a - b);
  for (const x of xTicks.length <= 12 ? xTicks : xTicks.filter((_, i) => i % Math.ceil(xTicks.length / 10) === 0)) {
    parts.push(`<text x="${px(x)}" y="${height - margin.bottom + 16}" text-anchor="middle">${fmt(x)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const v = y0 + ((y1 - y0) * i) / 5;
    const y = options.logY ? Math.pow(10, v) : v;
    parts.push(`<text x="${margin.left - 6}" y="${py(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
    parts.push(`<line x1="${margin.left}" y1="${py(y)}" x2="${width - margin.right}" y2="${py(y)}" stroke="#eee"/>`);
  }
  parts.push(`<text x="${(margin.left + width - margin.right) / 2}" y="${height - 12}" text-anchor="middle">${escape(options.xLabel)}</text>`);
  parts.push(`<text x="16" y="${height / 2}" text-anchor="middle" transform="rotate(-90 16 ${height / 2})">${escape(options.yLabel)}</text>`);
  options.series.forEach((s, i) => {
    const color = palette[i % palette.length];
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (!s.markersOnly && pts.length > 1) {
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" ${s.dashed ? 'stroke-dasharray="6 4"' : ""} points="${pts.map(([x, y]) => `${px(x)},${py(y)}`).join(" ")}"/>`);
    }
    for (const [x, y] of pts) parts.push(`<circle cx="${px(x)}" cy="${py(y)}" r="3.5" fill="${color}"/>`);
    parts.push(`<rect x="${width - margin.right + 12}" y="${margin.top + i * 18}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${width - margin.right + 30}" y="${margin.top + i * 18 + 10}">${escape(s.name)}</text>`);
  });
  (options.lines ?? []).forEach((l, i) => {
    const y = margin.top + (options.series.length + i) * 18;
    parts.push(`<polyline fill="none" stroke="#000" stroke-width="1.5" stroke-dasharray="3 3" points="${l.points.map(([x, v]) => `${px(x)},${py(v)}`).join(" ")}"/>`);
    parts.push(`<line x1="${width - margin.right + 12}" y1="${y + 6}" x2="${width - margin.right + 24}" y2="${y + 6}" stroke="#000" stroke-dasharray="3 3"/>`);
    parts.push(`<text x="${width - margin.right + 30}" y="${y + 10}">${escape(l.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

function fmt(v: number) {
  if (Math.abs(v) >= 1000) return v.toExponential(1);
  if (Math.abs(v) >= 10) return v.toFixed(0);
  return v.toPrecision(2);
}

function escape(text: string) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
