// Function calling through node-llama-cpp's chat wrappers: which wrappers have a call syntax of their own, and a
// wrapper that makes the answer start inside a call (OpenAI's tool_choice "required" or a named function).
import { ChatWrapper, LlamaText, type ChatWrapperGenerateContextStateOptions, type ChatWrapperGeneratedContextState } from "node-llama-cpp";

/**
 * True when the model's chat wrapper has its own function-call syntax (QwenChatWrapper's <tool_call>, Llama 3.1's,
 * Mistral's, gpt-oss's Harmony, a Jinja template whose tool syntax node-llama-cpp recognised, ...). Wrappers
 * without one (ChatML, General, a Jinja template without tools) inherit node-llama-cpp's generic `||call:` fallback,
 * a syntax the model was never trained on: tools are refused there rather than answered with made-up calls.
 */
export function supportsFunctionCalling(wrapper: ChatWrapper): boolean {
  const functions = wrapper.settings?.functions;
  if (!functions || functions === ChatWrapper.defaultSettings.functions) return false;
  return LlamaText(functions.call.prefix).values.length > 0;
}

/**
 * The same wrapper, except that the prompt ends with the wrapper's call prefix and LlamaChat starts in its
 * function-name mode: the name is grammar-constrained to the functions given, then the arguments to the function's
 * schema. This is how a call is forced without a grammar of our own: the syntax stays the wrapper's.
 */
export function forcedCallWrapper(wrapper: ChatWrapper): ChatWrapper {
  const forced = Object.create(wrapper) as ChatWrapper;
  forced.generateContextState = (options: ChatWrapperGenerateContextStateOptions): ChatWrapperGeneratedContextState => {
    const state = wrapper.generateContextState(options);
    return {
      contextText: LlamaText([state.contextText, wrapper.settings.functions.call.prefix]),
      stopGenerationTriggers: state.stopGenerationTriggers,
      functionCall: { initiallyEngaged: true, disengageInitiallyEngaged: [] },
    };
  };
  return forced;
}
