// Child process of `npm run bench:api`: C concurrent streaming clients (the official `openai` client), each one
// request with its own prompt, greedy, a fixed number of tokens (ignore_eos, which both servers accept), all sent
// at once. Out of the server's process and the bench's, so the clients' JSON parsing costs neither. Prints one
// JSON line: every request's timings.
//   node --import tsx tools/bench-api/clients.ts '{"baseURL": ..., "apiKey": ..., "model": ..., "prompts": [...], "tokens": T}'
import OpenAI from "openai";
import { z } from "zod";

const input = z
  .object({
    baseURL: z.string().url(),
    apiKey: z.string().min(1),
    model: z.string().min(1),
    prompts: z.array(z.string().min(1).max(4096)).min(1).max(64),
    tokens: z.number().int().min(1).max(4096),
  })
  .parse(JSON.parse(process.argv[2] ?? "{}"));

export interface RequestTiming {
  /** ms from the request's start: first text chunk, and every text chunk after it */
  ttftMs: number;
  chunkMs: number[];
  promptTokens: number;
  completionTokens: number;
  /** ms from the start of the first request of the batch */
  startMs: number;
  endMs: number;
}

async function one(client: OpenAI, prompt: string, t0: number): Promise<RequestTiming> {
  const start = performance.now();
  const stream = await client.completions.create({
    model: input.model,
    prompt,
    max_tokens: input.tokens,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
    // both servers' extension: a fixed length, whatever the model would do at its end-of-generation token
    ...({ ignore_eos: true } as object),
  });
  const chunks: number[] = [];
  let promptTokens = 0;
  let completionTokens = 0;
  for await (const chunk of stream) {
    if (chunk.choices[0]?.text) chunks.push(performance.now() - start);
    if (chunk.usage) {
      promptTokens = chunk.usage.prompt_tokens;
      completionTokens = chunk.usage.completion_tokens;
    }
  }
  const end = performance.now();
  if (!chunks.length) throw new Error(`no text streamed for ${JSON.stringify(prompt)}`);
  // a server that sends no usage chunk: one text chunk per token, as both servers stream
  if (!completionTokens) completionTokens = chunks.length;
  return { ttftMs: chunks[0]!, chunkMs: chunks, promptTokens, completionTokens, startMs: start - t0, endMs: end - t0 };
}

async function main() {
  // one client (one keep-alive agent) per simulated program
  const clients = input.prompts.map(() => new OpenAI({ baseURL: input.baseURL, apiKey: input.apiKey, maxRetries: 0, timeout: 600_000 }));
  const t0 = performance.now();
  const timings = await Promise.all(input.prompts.map((prompt, i) => one(clients[i]!, prompt, t0)));
  process.stdout.write(JSON.stringify(timings) + "\n");
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
