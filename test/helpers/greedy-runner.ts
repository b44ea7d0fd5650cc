// Child-process runner: greedy-decodes prompts on one sequence and prints tokens and top probabilities as JSON.
// Run once on node-llama-cpp's stock prebuilt binaries and once on our patched build (two llama.cpp builds
// cannot share a process).
//   tsx test/helpers/greedy-runner.ts '{"build":"stock","model":"...","prompts":["..."],"tokens":12}'
import { getLlama, LlamaLogLevel, type Llama, type Token } from "node-llama-cpp";
import { loadPatchedLlama } from "../../electron/engine/load-llama.js";
import { findMappedLibllama, MoeSelectType } from "../../electron/engine/native/moe-select-api.js";

interface RunnerInput {
  build: "stock" | "patched";
  model: string;
  prompts: string[];
  tokens: number;
  policy?: { type: keyof typeof MoeSelectType; alpha?: number; beta?: number; budget?: number };
}

export interface RunnerStep {
  token: number;
  top: Array<[token: number, probability: number]>;
}

export interface RunnerOutput {
  library: string;
  patched: boolean;
  results: RunnerStep[][];
}

async function main() {
  const input = JSON.parse(process.argv[2]!) as RunnerInput;
  let llama: Llama;
  let patched = false;
  if (input.build === "stock") {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  } else {
    const loaded = await loadPatchedLlama();
    llama = loaded.llama;
    patched = true;
    loaded.native.setKvUnified(true);
    const p = input.policy ?? { type: "off" };
    loaded.native.setPolicy(MoeSelectType[p.type], p.alpha ?? 0, p.beta ?? 0, p.budget ?? 0);
  }
  const model = await llama.loadModel({ modelPath: input.model });
  const context = await model.createContext({ contextSize: 512, sequences: 1, threads: 2 });
  const sequence = context.getSequence();
  const results: RunnerStep[][] = [];
  for (const prompt of input.prompts) {
    await sequence.clearHistory();
    let next: Token[] = model.tokenize(prompt);
    const steps: RunnerStep[] = [];
    for (let i = 0; i < input.tokens; i++) {
      const last = next.at(-1)!;
      const out = await sequence.controlledEvaluate([
        ...next.slice(0, -1),
        [last, { generateNext: { token: true, probabilities: true, options: { temperature: 0 } } }],
      ]);
      const result = out.at(-1)?.next;
      if (result?.token == null || !result.probabilities) throw new Error("no generated token");
      const top = [...result.probabilities.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8) as Array<[number, number]>;
      steps.push({ token: result.token, top });
      next = [result.token];
    }
    results.push(steps);
  }
  const output: RunnerOutput = { library: findMappedLibllama().join(","), patched, results };
  process.stdout.write(JSON.stringify(output) + "\n");
  await context.dispose();
  await model.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
