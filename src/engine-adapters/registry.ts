/** Every engine adapter, by kind. Adding an engine is one file plus one line here. */
import type { EngineAdapter, EngineAdapterFactory, EngineAdapterOptions } from './adapter.js';
import { createVllmAdapter } from './vllm.js';

export const engineAdapters = {
  vllm: createVllmAdapter,
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
