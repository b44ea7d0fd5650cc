// Accumulates per-layer routing of every decode batch (distinct experts before/after, batch sizes) by
// draining the patch's ring of recent decode ubatches often enough that none is missed.
import type { MoeSelectApi } from "./native/moe-select-api.js";

export interface LayerRouting {
  layer: number;
  distinctBefore: number;
  distinctAfter: number;
  distinctAfterMax: number;
}

export interface RoutingSummary {
  decodeBatches: { total: number; full: number; meanSize: number; histogram: Record<number, number> };
  layers: LayerRouting[];
  missed: number;
}

const histogramSize = 257; // LLAMA_MAX_SEQ + 1

export class RoutingRecorder {
  private next: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly sumBefore: Float64Array;
  private readonly sumAfter: Float64Array;
  private readonly maxAfter: Uint16Array;
  private readonly map: Uint8Array;
  private readonly before: Uint16Array;
  private readonly after: Uint16Array;
  private batches = 0;
  private missed = 0;
  private readonly histogramAtStart: Float64Array;
  /** Every decode batch's per-layer (before, after), for tests that check every batch. */
  readonly perBatch: Array<{ size: number; before: Uint16Array; after: Uint16Array }> = [];

  constructor(
    private readonly native: MoeSelectApi,
    private readonly layers: number,
    experts: number,
    private readonly moeLayers: () => Uint8Array | null,
    private readonly keepPerBatch = false,
  ) {
    this.next = native.ubatchCount();
    this.histogramAtStart = native.batchHistogram(histogramSize);
    this.sumBefore = new Float64Array(layers);
    this.sumAfter = new Float64Array(layers);
    this.maxAfter = new Uint16Array(layers);
    this.map = new Uint8Array(layers * Math.max(1, experts));
    this.before = new Uint16Array(layers);
    this.after = new Uint16Array(layers);
  }

  start(intervalMs = 5) {
    this.timer ??= setInterval(() => this.drain(), intervalMs);
    return this;
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.drain();
  }

  drain() {
    const total = this.native.ubatchCount();
    for (; this.next < total; this.next++) {
      const size = this.native.ubatch(this.next, this.map, this.before, this.after, this.layers);
      if (size < 0) {
        this.missed++;
        continue;
      }
      this.batches++;
      for (let l = 0; l < this.layers; l++) {
        this.sumBefore[l]! += this.before[l]!;
        this.sumAfter[l]! += this.after[l]!;
        if (this.after[l]! > this.maxAfter[l]!) this.maxAfter[l] = this.after[l]!;
      }
      if (this.keepPerBatch) this.perBatch.push({ size, before: this.before.slice(), after: this.after.slice() });
    }
  }

  summary(fullSize: number): RoutingSummary {
    this.drain();
    const moe = this.moeLayers();
    const layers: LayerRouting[] = [];
    for (let l = 0; l < this.layers; l++) {
      if (moe && !moe[l]) continue;
      layers.push({
        layer: l,
        distinctBefore: this.batches ? this.sumBefore[l]! / this.batches : 0,
        distinctAfter: this.batches ? this.sumAfter[l]! / this.batches : 0,
        distinctAfterMax: this.maxAfter[l]!,
      });
    }
    // decode steps of every size, single-token ones included, from the patch's ubatch-size histogram
    const now = this.native.batchHistogram(histogramSize);
    const histogram: Record<number, number> = {};
    let total = 0;
    let tokens = 0;
    for (let size = 1; size < histogramSize; size++) {
      const count = now[size]! - this.histogramAtStart[size]!;
      if (count <= 0) continue;
      histogram[size] = count;
      total += count;
      tokens += size * count;
    }
    return {
      decodeBatches: { total, full: histogram[fullSize] ?? 0, meanSize: total ? tokens / total : 0, histogram },
      layers,
      missed: this.missed,
    };
  }
}
