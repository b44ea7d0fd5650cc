// Running totals of the patch's decode-batch records (distinct experts per MoE layer, plain top-k vs after
// selection), so each answer can report what its decode steps read: a mark at its start, a mark at its end.
// The patch records only batched decode ubatches (B >= 2); an answer's other decode steps ran alone and read
// exactly top-k experts per layer.
import type { MoeSelectApi } from "./native/moe-select-api.js";

export interface RoutingMark {
  batches: number;
  /** Sums over batches of the mean (over MoE layers) distinct experts. */
  before: number;
  after: number;
}

export interface AnswerRouting {
  decodeSteps: number;
  batchedSteps: number;
  expertsBefore: number;
  expertsAfter: number;
}

export class AnswerRoutingMeter {
  private next: number;
  private readonly totals: RoutingMark = { batches: 0, before: 0, after: 0 };
  private readonly map: Uint8Array;
  private readonly beforeRow: Uint16Array;
  private readonly afterRow: Uint16Array;
  private timer: NodeJS.Timeout | null = null;
  private active = 0;

  constructor(
    private readonly native: MoeSelectApi,
    private readonly layers: number,
    private readonly experts: number,
    private readonly expertsPerToken: number,
    private readonly moeLayers: () => Uint8Array | null,
    /** The patch keeps the last 64 batches: drained this often while anything generates, none is missed. */
    private readonly intervalMs = 20,
  ) {
    this.next = native.ubatchCount();
    this.map = new Uint8Array(layers * Math.max(1, experts));
    this.beforeRow = new Uint16Array(layers);
    this.afterRow = new Uint16Array(layers);
  }

  /** An answer starts: totals are drained while at least one is running. */
  start(): RoutingMark {
    if (this.active++ === 0 && this.experts > 0) {
      this.timer = setInterval(() => this.drain(), this.intervalMs);
      this.timer.unref?.();
    }
    return this.mark();
  }

  /** An answer ended (after its figures were read). */
  end() {
    this.active = Math.max(0, this.active - 1);
    if (this.active === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** An answer's figures from its start mark and its token count. */
  figures(start: RoutingMark, tokens: number): AnswerRouting {
    const end = this.mark();
    // the first token comes from the prompt's ubatch; every later one from a decode step
    const decodeSteps = Math.max(0, tokens - 1);
    if (this.experts === 0 || decodeSteps === 0) return { decodeSteps, batchedSteps: 0, expertsBefore: 0, expertsAfter: 0 };
    const batches = end.batches - start.batches;
    const batchedSteps = Math.min(batches, decodeSteps);
    const meanBefore = batches > 0 ? (end.before - start.before) / batches : 0;
    const meanAfter = batches > 0 ? (end.after - start.after) / batches : 0;
    const single = decodeSteps - batchedSteps;
    const k = this.expertsPerToken;
    return {
      decodeSteps,
      batchedSteps,
      expertsBefore: (batchedSteps * meanBefore + single * k) / decodeSteps,
      expertsAfter: (batchedSteps * meanAfter + single * k) / decodeSteps,
    };
  }

  /** Totals since the engine started (batched decode steps and their summed mean distinct experts). */
  runningTotals(): RoutingMark {
    return this.mark();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private mark(): RoutingMark {
    this.drain();
    return { ...this.totals };
  }

  private drain() {
    if (this.experts === 0) return;
    const total = this.native.ubatchCount();
    const moe = this.moeLayers();
    for (; this.next < total; this.next++) {
      if (this.native.ubatch(this.next, this.map, this.beforeRow, this.afterRow, this.layers) < 0) continue;
      let before = 0;
      let after = 0;
      let n = 0;
      for (let l = 0; l < this.layers; l++) {
        if (moe && !moe[l]) continue;
        before += this.beforeRow[l]!;
        after += this.afterRow[l]!;
        n++;
      }
      if (n === 0) continue;
      this.totals.batches++;
      this.totals.before += before / n;
      this.totals.after += after / n;
    }
  }
}
