/** Every engine adapter, by kind. Adding an engine is one file plus one line here. */
import type { EngineAdapter, EngineAdapterFactory, EngineAdapterOptions } from './adapter.js';
import { createAnthropicAdapter } from './anthropic.js';
import { createAzureOpenAiAdapter } from './azure-openai.js';
import { createLlamacppAdapter } from './llamacpp.js';
import { createOllamaAdapter } from './ollama.js';
import { createOpenAiAdapter } from './openai.js';
import { createSglangAdapter } from './sglang.js';
import { createSglangGenerateAdapter } from './sglang-generate.js';
import { createTgiAdapter } from './tgi.js';
import { createTritonAdapter } from './triton.js';
import { createTrtllmAdapter } from './trtllm.js';
import { createVllmAdapter } from './vllm.js';

export const engineAdapters = {
  vllm: createVllmAdapter,
  sglang: createSglangAdapter,
  'sglang-generate': createSglangGenerateAdapter,
  trtllm: createTrtllmAdapter,
  llamacpp: createLlamacppAdapter,
  tgi: createTgiAdapter,
  triton: createTritonAdapter,
  ollama: createOllamaAdapter,
  openai: createOpenAiAdapter,
  'azure-openai': createAzureOpenAiAdapter,
  anthropic: createAnthropicAdapter,
} as const satisfies Record<string, EngineAdapterFactory>;

export type EngineKind = keyof typeof engineAdapters;

export function isEngineKind(value: string): value is EngineKind {
  return Object.hasOwn(engineAdapters, value);
}

export function engineKinds(): EngineKind[] {
  return Object.keys(engineAdapters) as EngineKind[];
}

export function createEngineAdapter(kind: string, options: EngineAdapterOptions): EngineAdapter {
  if (!isEngineKind(kind)) throw new Error(`unknown engine '${kind}': known engines are ${engineKinds().join(', ')}`);
  return engineAdapters[kind](options);
}
