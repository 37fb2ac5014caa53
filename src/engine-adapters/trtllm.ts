/**
 * TensorRT-LLM's OpenAI-compatible server (`trtllm-serve`). Its chat request has no
 * `continue_final_message` and refuses unknown fields, and the template closes a final assistant
 * message: only completions can be continued.
 */
import type { EngineAdapter, EngineAdapterOptions } from './adapter.js';
import { checkSettings } from './http-adapter.js';
import { createOpenAiCompatibleAdapter } from './openai-compatible.js';

export function createTrtllmAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('trtllm', options.settings, []);
  return createOpenAiCompatibleAdapter({ ...options, kind: 'trtllm', continuation: { completion: true } });
}
