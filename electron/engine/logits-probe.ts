// One decode at load time catches weights that hold NaN or Inf: llama.cpp accepts such a file, and its
// logits are then non-finite from the first token, so greedy sampling emits token 0 and random sampling one
// fixed token until the length limit (measured on the hostile corpus). Refusing the model says why instead.
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { EngineError } from "./errors.js";

/** Evaluates one token on `sequence` (then clears it); throws MODEL_LOAD_FAILED if its logits are not finite. */
export async function probeFiniteLogits(model: LlamaModel, sequence: LlamaContextSequence, displayName: string): Promise<void> {
  const token = model.tokens.bos ?? model.tokenize("a")[0] ?? (0 as Token);
  let confidence = Number.NaN;
  try {
    // the probability of the chosen token is NaN when any logit is NaN, or +/-Inf ones meet in the softmax
    for await (const output of sequence.evaluateWithMetadata([token], { confidence: true }, { temperature: 0 })) {
      confidence = output.confidence;
      break;
    }
  } finally {
    await sequence.clearHistory();
  }
  if (!Number.isFinite(confidence)) {
    throw new EngineError(
      "MODEL_LOAD_FAILED",
      `cannot use ${displayName}: it computes NaN or infinite values (its weights are damaged), so it could only write gibberish. Download the model again.`,
    );
  }
}
