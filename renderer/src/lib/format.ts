export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

export function formatNumber(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return "–";
  return n.toFixed(digits);
}

export function formatPercent(share: number, digits = 0): string {
  if (!Number.isFinite(share)) return "–";
  return `${(share * 100).toFixed(digits)}%`;
}
