/** Bench models produced by `npm run fixtures -- --bench` (tools/fixtures): the first is the quick run's. */
export const benchModelNames = ["bench-qwen3moe-128x8", "bench-olmoe-64x8", "bench-mixtral-8x2"] as const;
