// GET /metrics in Prometheus' text format: the API's requests and tokens, and the engine's decode batches and
// expert reads (engine-wide: the app's chats decode in the same batches, so their steps count too).
import type { LynxEngine } from "../engine/engine.js";

const batchSizes = 16;

export class ApiMetrics {
  private readonly requests = new Map<string, number>();
  promptTokens = 0;
  completionTokens = 0;
  /** Output token times over the last few seconds, for the tok/s gauge. */
  private readonly recent: number[] = [];

  countRequest(endpoint: string, status: number) {
    const key = `endpoint="${endpoint}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  countTokens(count: number) {
    this.completionTokens += count;
    const now = performance.now();
    for (let i = 0; i < count; i++) this.recent.push(now);
    this.trim(now);
  }

  tokensPerSecond(): number {
    const now = performance.now();
    this.trim(now);
    return this.recent.length / 10;
  }

  private trim(now: number) {
    let drop = 0;
    while (drop < this.recent.length && now - this.recent[drop]! > 10_000) drop++;
    if (drop) this.recent.splice(0, drop);
  }

  render(engine: LynxEngine | null, gauges: { inFlight: number; queued: number }): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: Array<[string, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels ? `{${labels}}` : ""} ${Number.isFinite(value) ? value : 0}`);
    };
    metric("lynx_api_requests_total", "counter", "API requests answered, by endpoint and HTTP status.", [...this.requests].map(([k, v]) => [k, v]));
    metric("lynx_api_requests_in_flight", "gauge", "API generations running or waiting for a sequence.", [["", gauges.inFlight]]);
    metric("lynx_api_requests_queued", "gauge", "API generations waiting for a free sequence.", [["", gauges.queued]]);
    metric("lynx_api_prompt_tokens_total", "counter", "Prompt tokens of API requests.", [["", this.promptTokens]]);
    metric("lynx_api_completion_tokens_total", "counter", "Tokens generated for API requests.", [["", this.completionTokens]]);
    metric("lynx_api_tokens_per_second", "gauge", "API output tokens per second over the last 10 s.", [["", this.tokensPerSecond()]]);
    if (!engine) return lines.join("\n") + "\n";

    // the patch counts every decode ubatch by size (single-token steps included); prefill is not a decode step
    const histogram = engine.native.batchHistogram(batchSizes + 1);
    const buckets: Array<[string, number]> = [];
    let cumulative = 0;
    let sum = 0;
    for (let size = 1; size <= batchSizes; size++) {
      cumulative += histogram[size]!;
      sum += size * histogram[size]!;
      buckets.push([`le="${size}"`, cumulative]);
    }
    lines.push("# HELP lynx_decode_batch_size Sequences per decode step (the app's chats and the API's requests together).", "# TYPE lynx_decode_batch_size histogram");
    for (const [labels, value] of buckets) lines.push(`lynx_decode_batch_size_bucket{${labels}} ${value}`);
    lines.push(`lynx_decode_batch_size_bucket{le="+Inf"} ${cumulative}`, `lynx_decode_batch_size_sum ${sum}`, `lynx_decode_batch_size_count ${cumulative}`);

    const totals = engine.routingTotals();
    const { moeLayers, expertBytes } = engine.info;
    metric("lynx_batched_decode_steps_total", "counter", "Decode steps of 2 or more sequences (where batch-aware selection applies).", [["", totals.batches]]);
    metric("lynx_distinct_experts_before_sum", "counter", "Sum over batched decode steps of the mean distinct experts per MoE layer under plain top-k.", [["", totals.before]]);
    metric("lynx_distinct_experts_after_sum", "counter", "Sum over batched decode steps of the mean distinct experts per MoE layer after selection.", [["", totals.after]]);
    metric("lynx_distinct_experts_before_mean", "gauge", "Mean distinct experts per MoE layer per batched step, plain top-k.", [["", totals.batches ? totals.before / totals.batches : 0]]);
    metric("lynx_distinct_experts_after_mean", "gauge", "Mean distinct experts per MoE layer per batched step, after selection.", [["", totals.batches ? totals.after / totals.batches : 0]]);
    metric("lynx_expert_bytes_read_total", "counter", "Expert weight bytes read by batched decode steps (estimate: distinct experts x layers x bytes per expert).", [["", totals.after * moeLayers * expertBytes]]);
    metric("lynx_expert_bytes_saved_total", "counter", "Expert weight bytes batch-aware selection did not read.", [["", (totals.before - totals.after) * moeLayers * expertBytes]]);
    metric("lynx_sequences", "gauge", "Sequences of the engine's context (chats and API requests that can generate at once).", [["", engine.pool.size]]);
    return lines.join("\n") + "\n";
  }
}
