/** The engine adapters' public pieces: the interface, the registry, the shared base and the SSE parser. */
export type {
  Continuation,
  Delta,
  EngineAdapter,
  EngineAdapterFactory,
  EngineAdapterOptions,
  EngineEvent,
  EngineRequest,
  Operation,
  Usage,
} from './adapter.js';
export { createEngineAdapter, engineAdapters, engineKinds, isEngineKind, type EngineKind } from './registry.js';
export { createOpenAiCompatibleAdapter, type OpenAiCompatibleOptions, type OpenAiPaths } from './openai-compatible.js';
export { continueFinalMessage, type ContinuationSupport } from './continuation.js';
export { createVllmAdapter } from './vllm.js';
export { SseParser, parseSse, type SseEvent } from './sse.js';
