/** vLLM's OpenAI-compatible server (`vllm serve`). */
import type { EngineAdapter, EngineAdapterOptions } from './adapter.js';
import { createOpenAiCompatibleAdapter } from './openai-compatible.js';

export function createVllmAdapter(options: EngineAdapterOptions): EngineAdapter {
  return createOpenAiCompatibleAdapter({ ...options, kind: 'vllm' });
}
