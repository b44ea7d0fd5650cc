// Comparing next-token distributions of a setting with those of policy off, position by position.
import type { Distribution } from "../engine/forced-decode.js";

/** Smallest probability used for a token a distribution lacks (or rounds to 0): keeps log finite. */
const floorProbability = 1e-10;

export function top1<T>(p: ReadonlyMap<T, number>): T | undefined {
  // node-llama-cpp returns the map sorted from the highest probability down
  return p.keys().next().value;
}

/**
 * KL(p || q) in nats over p's tokens. With truncated distributions (the top-K tokens, renormalised) a token of p that
 * q lacks gets q's smallest listed probability: q's true probability of it is at most that, so such a term is a lower
 * bound. With whole-vocabulary distributions (topK 0) it is exact. Tiny negative sums from rounding read as 0.
 */
export function klDivergence(p: Distribution, q: Distribution): number {
  let floor = floorProbability;
  for (const v of q.values()) floor = v; // the last is the smallest
  floor = Math.max(floorProbability, Math.min(floor, 1));
  let sum = 0;
  for (const [token, pt] of p) {
    if (pt <= 0) continue;
    const qt = q.get(token);
    sum += pt * (Math.log(pt) - Math.log(Math.max(qt === undefined ? floor : qt, floorProbability)));
  }
  return Math.max(0, sum);
}

/** The q-quantile (nearest rank) of the values; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export interface Comparison {
  positions: number;
  agreement: number;
  klMean: number;
  klP95: number;
}

/** Compares two passes over the same items, counting only positions produced by batched decode steps (B >= 2). */
export function comparePasses(off: readonly Distribution[][], setting: readonly Distribution[][], batchSizes: readonly number[][]): Comparison {
  let positions = 0;
  let agree = 0;
  const kls: number[] = [];
  for (let i = 0; i < off.length; i++) {
    const a = off[i]!;
    const b = setting[i]!;
    for (let t = 0; t < Math.min(a.length, b.length); t++) {
      if ((batchSizes[i]?.[t] ?? 0) < 2) continue;
      positions++;
      if (top1(a[t]!) === top1(b[t]!)) agree++;
      kls.push(klDivergence(a[t]!, b[t]!));
    }
  }
  return {
    positions,
    agreement: positions ? agree / positions : 1,
    klMean: kls.length ? kls.reduce((x, y) => x + y, 0) / kls.length : 0,
    klP95: quantile(kls, 0.95),
  };
}

/** Spearman's rank correlation (ties get their mean rank); NaN when either side is constant. */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  const rank = (v: readonly number[]) => {
    const order = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
    const ranks = new Array<number>(v.length);
    for (let i = 0; i < order.length; ) {
      let j = i;
      while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
      for (let k = i; k <= j; k++) ranks[order[k]![1]] = (i + j) / 2 + 1;
      i = j + 1;
    }
    return ranks;
  };
  const rx = rank(xs);
  const ry = rank(ys);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(rx);
  const my = mean(ry);
  let num = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < rx.length; i++) {
    num += (rx[i]! - mx) * (ry[i]! - my);
    dx += (rx[i]! - mx) ** 2;
    dy += (ry[i]! - my) ** 2;
  }
  return dx && dy ? num / Math.sqrt(dx * dy) : Number.NaN;
}
