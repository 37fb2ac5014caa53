/** TensorRT-LLM's OpenAI-compatible server (`trtllm-serve`). */
import type { EngineAdapter, EngineAdapterOptions } from './adapter.js';
import { checkSettings } from './http-adapter.js';
import { createOpenAiCompatibleAdapter } from './openai-compatible.js';

export function createTrtllmAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('trtllm', options.settings, []);
  return createOpenAiCompatibleAdapter({ ...options, kind: 'trtllm' });
}
