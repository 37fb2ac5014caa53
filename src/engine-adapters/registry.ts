/** Every engine adapter, by kind. Adding an engine is one file plus one line here. */
import type { EngineAdapter, EngineAdapterFactory, EngineAdapterOptions, EngineCapability } from './adapter.js';
import { serves } from './capabilities.js';
import { createAnthropicAdapter } from './anthropic.js';
import { createAzureOpenAiAdapter } from './azure-openai.js';
import { createLlamacppAdapter } from './llamacpp.js';
import { createOllamaAdapter } from './ollama.js';
import { createOpenAiAdapter } from './openai.js';
import { createSglangAdapter } from './sglang.js';
import { createSglangGenerateAdapter } from './sglang-generate.js';
import { createTeiAdapter } from './tei.js';
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
  tei: createTeiAdapter,
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

/** The kinds whose adapters serve `capability` (building an adapter is cheap: its pool connects on first use). */
export function engineKindsServing(capability: EngineCapability): EngineKind[] {
  return engineKinds().filter((kind) => {
    const adapter = engineAdapters[kind]({ baseUrl: 'http://127.0.0.1:1' });
    void adapter.close();
    return serves(adapter, capability);
  });
}
