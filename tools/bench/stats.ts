// Small summary statistics shared by the bench and its child processes.
export const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** The p-quantile of an ascending array (nearest rank below). */
export function percentile(sorted: number[], p: number) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : 0;
}

export function median(xs: number[]) {
  return percentile([...xs].sort((a, b) => a - b), 0.5);
}
