// Expert heatmaps on <canvas>. High-frequency telemetry is read with store.subscribe into refs and
// drawn in requestAnimationFrame: React does not re-render per frame.

import { useEffect, useId, useRef, useState } from "react";
import { apiGenerationPrefix, type BatchTelemetry, type TelemetryFrame } from "../../../electron/api/contract.js";
import { colorAt, cssColor, lut } from "../lib/colormap.js";
import { useElementWidth, useThrottledText } from "../lib/hooks.js";
import type { AppState } from "../store/index.js";
import { useApp, useAppStore } from "../store/react.js";

const LEFT = 34;
const TOP = 6;
const BOTTOM = 18;

interface Geometry {
  width: number;
  height: number;
  left: number;
  top: number;
  cellW: number;
  cellH: number;
  rows: number;
  cols: number;
  gridW: number;
}

function geometry(width: number, rows: number, cols: number, right: number): Geometry {
  const gridW = Math.max(40, width - LEFT - right);
  const cellW = cols > 0 ? gridW / cols : gridW;
  // Square-ish cells, 4..22 px high: 48 layers x 128 experts stays compact, tiny models stay readable.
  const cellH = Math.max(4, Math.min(22, Math.round(Math.max(cellW * 0.8, 6))));
  return { width, height: TOP + rows * cellH + BOTTOM, left: LEFT, top: TOP, cellW, cellH, rows, cols, gridW };
}

function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

function setupCanvas(canvas: HTMLCanvasElement, g: Geometry): CanvasRenderingContext2D | null {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(g.width * dpr);
  const h = Math.round(g.height * dpr);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
    canvas.style.width = `${g.width}px`;
    canvas.style.height = `${g.height}px`;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return null;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

function drawAxes(ctx: CanvasRenderingContext2D, g: Geometry, fg: string, moeLayers: Uint8Array) {
  ctx.fillStyle = fg;
  ctx.font = "10px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  ctx.textAlign = "right";
  const every = Math.max(1, Math.ceil(12 / g.cellH));
  for (let l = 0; l < g.rows; l += every) {
    ctx.fillText(`L${l}`, g.left - 4, g.top + l * g.cellH + g.cellH / 2);
  }
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  const y = g.top + g.rows * g.cellH + 3;
  ctx.fillText("expert 0", g.left, y);
  ctx.textAlign = "right";
  ctx.fillText(`${g.cols - 1}`, g.left + g.gridW, y);
  // Dense layers: a muted stripe and a label.
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  for (let l = 0; l < g.rows; l++) {
    if (moeLayers[l]) continue;
    ctx.fillStyle = fg;
    ctx.globalAlpha = 0.12;
    ctx.fillRect(g.left, g.top + l * g.cellH, g.gridW, g.cellH);
    ctx.globalAlpha = 1;
    if (g.cellH >= 9) ctx.fillText("dense layer", g.left + 4, g.top + l * g.cellH + g.cellH / 2);
  }
}

function cellAt(g: Geometry, x: number, y: number): { layer: number; expert: number } | null {
  const col = Math.floor((x - g.left) / g.cellW);
  const row = Math.floor((y - g.top) / g.cellH);
  if (col < 0 || row < 0 || col >= g.cols || row >= g.rows) return null;
  return { layer: row, expert: col };
}

function useTooltip() {
  const ref = useRef<HTMLDivElement>(null);
  return {
    ref,
    show(text: string, x: number, y: number, containerWidth: number) {
      const el = ref.current;
      if (!el) return;
      el.textContent = text;
      el.hidden = false;
      const w = el.offsetWidth;
      el.style.left = `${Math.min(Math.max(0, containerWidth - w), x + 12)}px`;
      el.style.top = `${y + 14}px`;
    },
    hide() {
      if (ref.current) ref.current.hidden = true;
    },
  };
}

/**
 * What a heatmap shows only changes with decode steps (or a chat opening/closing): the host keeps
 * sending frames while idle, and those need no redraw.
 */
function telemetryChanged(a: AppState, b: AppState): boolean {
  const fa = a.telemetry.frame;
  const fb = b.telemetry.frame;
  if (fa === fb) return false;
  if (!fa || !fb) return true;
  return fa.overall.decodeSteps !== fb.overall.decodeSteps || fa.chats.length !== fb.chats.length || fa.nLayers !== fb.nLayers || fa.batches.length !== fb.batches.length;
}

/** Subscribes to the store and redraws on animation frames when `changed` says so. */
function useStoreDrawing(draw: (state: AppState) => void, changed: (a: AppState, b: AppState) => boolean, deps: unknown[]) {
  const store = useAppStore();
  const drawRef = useRef(draw);
  drawRef.current = draw;
  useEffect(() => {
    let raf = 0;
    const request = () => {
      if (raf) return;
      raf = requestAnimationFrame(() => {
        raf = 0;
        drawRef.current(store.getState());
      });
    };
    request();
    const unsub = store.subscribe((state, prev) => {
      if (changed(state, prev)) request();
    });
    return () => {
      unsub();
      if (raf) cancelAnimationFrame(raf);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [store, ...deps]);
}

/** Tooltip text for the cell under the pointer, from what was last drawn. */
function cellPointer(tip: ReturnType<typeof useTooltip>, describe: (cell: { layer: number; expert: number }) => string | null, g: () => Geometry | null) {
  return (e: React.MouseEvent<HTMLCanvasElement>) => {
    const geometry = g();
    const rect = e.currentTarget.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    const cell = geometry ? cellAt(geometry, x, y) : null;
    const text = cell ? describe(cell) : null;
    if (text === null) return tip.hide();
    tip.show(text, x, y, rect.width);
  };
}

interface HeatmapPanelProps {
  title: string;
  testId: string;
  ariaLabel: string;
  /** shown instead of the map for dense models */
  denseHint: string;
  applicable: boolean;
  paused: boolean;
  onPause: (paused: boolean) => void;
  wrapRef: React.Ref<HTMLDivElement>;
  canvasRef: React.Ref<HTMLCanvasElement>;
  infoRef: React.Ref<HTMLSpanElement>;
  summaryRef: React.Ref<HTMLParagraphElement>;
  tip: ReturnType<typeof useTooltip>;
  onMove: (e: React.MouseEvent<HTMLCanvasElement>) => void;
  /** legend and controls under the map */
  children: React.ReactNode;
}

/** The frame both heatmaps share: title, pause, info line, canvas with tooltip, screen-reader summary. */
function HeatmapPanel(p: HeatmapPanelProps) {
  const titleId = useId();
  const summaryId = useId();
  return (
    <section className="panel heatmap-panel" aria-labelledby={titleId}>
      <header className="panel-header">
        <h2 id={titleId}>{p.title}</h2>
        <label className="toggle small">
          <input type="checkbox" checked={p.paused} onChange={(e) => p.onPause(e.target.checked)} />
          Pause
        </label>
      </header>
      {!p.applicable && <p className="hint">{p.denseHint}</p>}
      <p className="hint" aria-hidden="true" hidden={!p.applicable}>
        <span ref={p.infoRef} data-testid={`${p.testId}-info`} />
      </p>
      <div className="heatmap-wrap" ref={p.wrapRef} hidden={!p.applicable}>
        <canvas
          ref={p.canvasRef}
          role="img"
          aria-label={p.ariaLabel}
          aria-describedby={summaryId}
          data-testid={p.testId}
          onMouseMove={p.onMove}
          onMouseLeave={p.tip.hide}
        />
        <div className="heat-tooltip" ref={p.tip.ref} hidden role="tooltip" />
      </div>
      {p.children}
      <p className="sr-only" id={summaryId} ref={p.summaryRef} data-testid={`${p.testId}-summary`} />
    </section>
  );
}

// ---------------------------------------------------------------------------------------------
// Per-chat heatmap: layers x experts, counts of this chat's recent tokens.

export function ChatHeatmap() {
  const [wrapRef, width] = useElementWidth<HTMLDivElement>();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const legendRef = useRef<HTMLCanvasElement>(null);
  const legendMaxRef = useRef<HTMLSpanElement>(null);
  const summaryRef = useRef<HTMLParagraphElement>(null);
  const infoRef = useRef<HTMLSpanElement>(null);
  const last = useRef<{ frame: TelemetryFrame | null; counts: Uint32Array | null; g: Geometry | null; title: string }>({
    frame: null,
    counts: null,
    g: null,
    title: "",
  });
  const setSummary = useThrottledText(summaryRef, 2000);
  const [paused, setPaused] = useState(false);
  const tip = useTooltip();
  const theme = useApp((s) => s.ui.theme);
  const applicable = useApp((s) => s.model.info?.isMoE !== false);

  useStoreDrawing(
    (state) => {
      const canvas = canvasRef.current;
      const frame = state.telemetry.frame;
      if (!canvas || !width || paused) return;
      const chatId = state.chats.activeId;
      const chat = chatId ? state.chats.chats[chatId] : undefined;
      const rows = frame?.nLayers ?? state.model.info?.layers ?? 0;
      const cols = frame?.nExperts ?? state.model.info?.experts ?? 0;
      const g = geometry(width, rows, cols, 6);
      const ctx = setupCanvas(canvas, g);
      if (!ctx) return;
      const bg = cssVar(canvas, "--heat-bg", "#fff");
      const fg = cssVar(canvas, "--fg-muted", "#666");
      ctx.fillStyle = bg;
      ctx.fillRect(0, 0, g.width, g.height);
      const ct = frame?.chats.find((c) => c.chatId === chatId);
      const counts = ct?.counts ?? null;
      let max = 0;
      if (counts) for (let i = 0; i < counts.length; i++) if (counts[i]! > max) max = counts[i]!;
      if (rows > 0 && cols > 0) {
        const img = ctx.createImageData(cols, rows);
        const table = lut("viridis");
        const empty = colorAt("viridis", 0);
        for (let l = 0; l < rows; l++) {
          for (let e = 0; e < cols; e++) {
            const c = counts ? (counts[l * cols + e] ?? 0) : 0;
            const p = (l * cols + e) * 4;
            if (max > 0) {
              const i = Math.round((c / max) * 255) * 3;
              img.data[p] = table[i]!;
              img.data[p + 1] = table[i + 1]!;
              img.data[p + 2] = table[i + 2]!;
            } else {
              img.data[p] = empty[0];
              img.data[p + 1] = empty[1];
              img.data[p + 2] = empty[2];
            }
            img.data[p + 3] = 255;
          }
        }
        const off = document.createElement("canvas");
        off.width = cols;
        off.height = rows;
        off.getContext("2d")!.putImageData(img, 0, 0);
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(off, g.left, g.top, g.gridW, rows * g.cellH);
        if (g.cellW >= 6) {
          ctx.strokeStyle = bg;
          ctx.lineWidth = 1;
          ctx.beginPath();
          for (let e = 1; e < cols; e++) {
            const x = Math.round(g.left + e * g.cellW) + 0.5;
            ctx.moveTo(x, g.top);
            ctx.lineTo(x, g.top + rows * g.cellH);
          }
          for (let l = 1; l < rows; l++) {
            const y = g.top + l * g.cellH + 0.5;
            ctx.moveTo(g.left, y);
            ctx.lineTo(g.left + g.gridW, y);
          }
          ctx.stroke();
        }
        drawAxes(ctx, g, fg, frame?.moeLayers ?? new Uint8Array(rows).fill(1));
      }
      last.current = { frame, counts, g, title: chat?.title ?? "" };
      canvas.dataset.frame = String(frame?.seq ?? -1);
      if (legendMaxRef.current) legendMaxRef.current.textContent = String(max);
      if (infoRef.current) {
        infoRef.current.textContent = ct
          ? `${chat?.title ?? ""}: ${ct.windowTokens} recent tokens, ${ct.tokensPerSecond.toFixed(1)} tok/s`
          : chat
            ? `${chat.title}: no tokens yet`
            : "";
      }
      setSummary(() => chatSummary(chat?.title ?? "no chat", frame, counts, ct?.windowTokens ?? 0));
    },
    (a, b) => telemetryChanged(a, b) || a.chats.activeId !== b.chats.activeId || a.model !== b.model,
    [width, paused, theme],
  );

  useEffect(() => {
    const c = legendRef.current;
    if (!c) return;
    drawLegend(c, "viridis");
  }, [theme]);

  const onMove = cellPointer(tip, (cell) => {
    const { g, counts, frame } = last.current;
    if (!g || !frame) return null;
    if (frame.moeLayers[cell.layer] === 0) return `Layer ${cell.layer} (dense, no experts)`;
    const count = counts ? (counts[cell.layer * g.cols + cell.expert] ?? 0) : 0;
    let layerTotal = 0;
    if (counts) for (let i = 0; i < g.cols; i++) layerTotal += counts[cell.layer * g.cols + i] ?? 0;
    const share = layerTotal > 0 ? count / layerTotal : 0;
    return `Layer ${cell.layer} · expert ${cell.expert}\ncount ${count} · share ${(share * 100).toFixed(1)}% of layer`;
  }, () => last.current.g);

  return (
    <HeatmapPanel
      title="Experts used by this chat"
      testId="heatmap-chat"
      ariaLabel="Per-chat expert heatmap: layers by experts, colour is how often this chat's recent tokens chose the expert"
      denseHint="Dense model: every token uses the same weights, so there are no experts to show."
      {...{ applicable, paused, wrapRef, canvasRef, infoRef, summaryRef, tip, onMove }}
      onPause={setPaused}
    >
      <div className="legend" aria-hidden="true" hidden={!applicable}>
        <span>0</span>
        <canvas ref={legendRef} className="legend-bar" width={160} height={10} />
        <span ref={legendMaxRef}>0</span>
        <span className="legend-caption">selections in the recent window (viridis)</span>
      </div>
    </HeatmapPanel>
  );
}

function chatSummary(title: string, frame: TelemetryFrame | null, counts: Uint32Array | null, windowTokens: number): string {
  if (!frame || !counts) return `Expert heatmap for ${title}: no telemetry yet.`;
  const top: { l: number; e: number; c: number }[] = [];
  for (let l = 0; l < frame.nLayers; l++) {
    for (let e = 0; e < frame.nExperts; e++) {
      const c = counts[l * frame.nExperts + e] ?? 0;
      if (c > 0) top.push({ l, e, c });
    }
  }
  top.sort((a, b) => b.c - a.c);
  const used = top.length;
  const list = top
    .slice(0, 5)
    .map((t) => `layer ${t.l} expert ${t.e} (${t.c})`)
    .join(", ");
  return `Expert heatmap for ${title}: ${frame.nLayers} layers by ${frame.nExperts} experts over ${windowTokens} recent tokens; ${used} layer-expert pairs used. Most used: ${list || "none"}.`;
}

function drawLegend(canvas: HTMLCanvasElement, scale: "viridis" | "magma") {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  for (let x = 0; x < canvas.width; x++) {
    ctx.fillStyle = cssColor(colorAt(scale, x / (canvas.width - 1)));
    ctx.fillRect(x, 0, 1, canvas.height);
  }
}

// ---------------------------------------------------------------------------------------------
// Per-batch heatmap: per layer the experts asked and kept in one of the latest decode batches,
// pruned ones hatched red, and per-layer distinct before -> after bars.

const STATE_LABEL = ["not asked", "asked, pruned", "asked, kept", "kept (re-routed here)"];
const BATCH_RIGHT = 80;

let hatchCache: { key: string; pattern: CanvasPattern | null } | null = null;
function hatchPattern(ctx: CanvasRenderingContext2D, color: string, bg: string): CanvasPattern | null {
  const key = `${color}|${bg}`;
  if (hatchCache?.key === key) return hatchCache.pattern;
  const c = document.createElement("canvas");
  c.width = 6;
  c.height = 6;
  const p = c.getContext("2d")!;
  p.fillStyle = bg;
  p.fillRect(0, 0, 6, 6);
  p.strokeStyle = color;
  p.lineWidth = 1.5;
  p.beginPath();
  p.moveTo(-1, 7);
  p.lineTo(7, -1);
  p.moveTo(-1, 1);
  p.lineTo(1, -1);
  p.moveTo(5, 7);
  p.lineTo(7, 5);
  p.stroke();
  const pattern = ctx.createPattern(c, "repeat");
  hatchCache = { key, pattern };
  return pattern;
}

export function BatchHeatmap() {
  const [wrapRef, width] = useElementWidth<HTMLDivElement>();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const summaryRef = useRef<HTMLParagraphElement>(null);
  const infoRef = useRef<HTMLSpanElement>(null);
  const last = useRef<{ batch: BatchTelemetry | null; g: Geometry | null; frame: TelemetryFrame | null }>({ batch: null, g: null, frame: null });
  const setSummary = useThrottledText(summaryRef, 2000);
  const [paused, setPaused] = useState(false);
  const [back, setBack] = useState(0);
  const theme = useApp((s) => s.ui.theme);
  const applicable = useApp((s) => s.model.info?.isMoE !== false);
  const tip = useTooltip();

  useStoreDrawing(
    (state) => {
      const canvas = canvasRef.current;
      if (!canvas || !width || paused) return;
      const frame = state.telemetry.frame;
      const rows = frame?.nLayers ?? state.model.info?.layers ?? 0;
      const cols = frame?.nExperts ?? state.model.info?.experts ?? 0;
      const g = geometry(width, rows, cols, BATCH_RIGHT);
      const ctx = setupCanvas(canvas, g);
      if (!ctx) return;
      const bg = cssVar(canvas, "--heat-bg", "#fff");
      const empty = cssVar(canvas, "--heat-empty", "#eee");
      const fg = cssVar(canvas, "--fg-muted", "#666");
      const pruned = cssVar(canvas, "--pruned", "#d62728");
      ctx.fillStyle = bg;
      ctx.fillRect(0, 0, g.width, g.height);
      const batches = frame?.batches ?? [];
      const batch = batches[Math.max(0, batches.length - 1 - back)] ?? null;
      const kept = cssColor(colorAt("viridis", 0.78));
      const rerouted = cssColor(colorAt("viridis", 0.3));
      const hatch = hatchPattern(ctx, pruned, bg);
      const gap = g.cellW >= 4 ? 1 : 0;
      for (let l = 0; l < rows; l++) {
        const y = g.top + l * g.cellH;
        for (let e = 0; e < cols; e++) {
          const s = batch ? (batch.map[l * cols + e] ?? 0) : 0;
          const x = g.left + e * g.cellW;
          const w = Math.max(1, g.cellW - gap);
          const h = Math.max(1, g.cellH - 1);
          if (s === 2) ctx.fillStyle = kept;
          else if (s === 3) ctx.fillStyle = rerouted;
          else if (s === 1) ctx.fillStyle = hatch ?? pruned;
          else ctx.fillStyle = empty;
          ctx.fillRect(x, y, w, h);
          if (s === 1 && w >= 3) {
            ctx.strokeStyle = pruned;
            ctx.lineWidth = 1;
            ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
          }
        }
      }
      // Per layer: distinct experts before -> after.
      if (batch && rows > 0) {
        let maxBefore = 1;
        for (let l = 0; l < rows; l++) maxBefore = Math.max(maxBefore, batch.before[l] ?? 0);
        const bx = g.left + g.gridW + 6;
        const bw = BATCH_RIGHT - 46;
        ctx.font = "10px system-ui, sans-serif";
        ctx.textBaseline = "middle";
        ctx.textAlign = "left";
        for (let l = 0; l < rows; l++) {
          if (frame && frame.moeLayers[l] === 0) continue;
          const y = g.top + l * g.cellH;
          const b = batch.before[l] ?? 0;
          const a = batch.after[l] ?? 0;
          const h = Math.max(1, g.cellH - 2);
          ctx.fillStyle = empty;
          ctx.fillRect(bx, y, (b / maxBefore) * bw, h);
          ctx.fillStyle = kept;
          ctx.fillRect(bx, y + Math.floor(h / 4), (a / maxBefore) * bw, Math.max(1, Math.ceil(h / 2)));
          if (g.cellH >= 9) {
            ctx.fillStyle = fg;
            ctx.fillText(`${b}→${a}`, bx + bw + 3, y + g.cellH / 2);
          }
        }
      }
      drawAxes(ctx, g, fg, frame?.moeLayers ?? new Uint8Array(rows).fill(1));
      last.current = { batch, g, frame };
      canvas.dataset.frame = String(frame?.seq ?? -1);
      if (infoRef.current) {
        // the local API's requests decode in these batches too
        const api = frame?.chats.filter((c) => c.chatId.startsWith(apiGenerationPrefix)).length ?? 0;
        infoRef.current.textContent = batch
          ? `batch of ${batch.size} token${batch.size === 1 ? "" : "s"}${back ? ` (${back} older than newest)` : " (newest)"}${api ? ` · ${api} API request${api === 1 ? "" : "s"} generating` : ""} · frame ${frame?.seq ?? ""}`
          : "no decode batches yet";
        infoRef.current.dataset.apiGenerating = String(api);
      }
      setSummary(() => batchSummary(frame, batch));
    },
    (a, b) => telemetryChanged(a, b) || a.model !== b.model,
    [width, paused, back, theme],
  );

  const onMove = cellPointer(tip, (cell) => {
    const { g, batch, frame } = last.current;
    if (!g || !frame) return null;
    if (frame.moeLayers[cell.layer] === 0) return `Layer ${cell.layer} (dense, no experts)`;
    const s = batch ? (batch.map[cell.layer * g.cols + cell.expert] ?? 0) : 0;
    const b = batch?.before[cell.layer] ?? 0;
    const a = batch?.after[cell.layer] ?? 0;
    const size = batch?.size ?? 0;
    return (
      `Layer ${cell.layer} · expert ${cell.expert}: ${STATE_LABEL[s]}\nlayer: ${b} → ${a} distinct experts for ${size} token${size === 1 ? "" : "s"}` +
      (b > 0 ? ` (share kept ${((a / b) * 100).toFixed(0)}%)` : "")
    );
  }, () => last.current.g);

  return (
    <HeatmapPanel
      title="Latest decode batch"
      testId="heatmap-batch"
      ariaLabel="Per-batch expert map: for each layer the experts the batch asked for, kept ones filled, pruned ones hatched red; bars on the right compare distinct experts before and after selection"
      denseHint="Dense model: pruning does not apply."
      {...{ applicable, paused, wrapRef, canvasRef, infoRef, summaryRef, tip, onMove }}
      onPause={setPaused}
    >
      <div className="legend batch-legend" aria-hidden="true" hidden={!applicable}>
        <span className="swatch kept" /> kept
        <span className="swatch rerouted" /> re-routed
        <span className="swatch pruned" /> pruned
        <span className="swatch empty" /> not asked
        <span className="legend-caption">bars: distinct experts before (light) → after (filled)</span>
      </div>
      <label className="field inline" hidden={!applicable}>
        <span>Show batch</span>
        <input
          type="range"
          min={0}
          max={7}
          step={1}
          value={back}
          aria-valuetext={back === 0 ? "newest batch" : `${back} batches older than the newest`}
          className="reverse-range"
          onChange={(e) => setBack(Number(e.target.value))}
        />
        <span className="hint">{back === 0 ? "newest" : `−${back}`}</span>
      </label>
    </HeatmapPanel>
  );
}

function batchSummary(frame: TelemetryFrame | null, batch: BatchTelemetry | null): string {
  if (!frame || !batch) return "Decode batch map: no batches yet.";
  let pruned = 0;
  for (const s of batch.map) if (s === 1) pruned++;
  const layers: string[] = [];
  for (let l = 0; l < frame.nLayers && layers.length < 12; l++) {
    if (frame.moeLayers[l] === 0) continue;
    layers.push(`layer ${l}: ${batch.before[l] ?? 0} to ${batch.after[l] ?? 0}`);
  }
  return `Decode batch of ${batch.size} tokens: ${pruned} layer-expert pairs pruned. Distinct experts before to after selection, ${layers.join("; ")}${frame.nLayers > 12 ? "; …" : ""}.`;
}
