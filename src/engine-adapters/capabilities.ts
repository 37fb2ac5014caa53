/**
 * What an engine can serve, decided here and nowhere else: a request an engine cannot do (embeddings
 * from TGI, a chat from TEI) is a 400 `unsupported` naming the engine kind, so the client knows to
 * ask another model, and no code outside src/engine-adapters/ needs to know which engine does what.
 */
import { ErrorCode, LlmuxError } from '../errors.js';
import type { EmbeddingRequest, Embeddings, EngineAdapter, EngineCapability } from './adapter.js';

export function unsupported(kind: string, what: string): LlmuxError {
  return new LlmuxError({ code: ErrorCode.unsupported, retryable: false, message: `the ${kind} engine serving this model does not serve ${what}` });
}

export function serves(adapter: EngineAdapter, capability: EngineCapability): boolean {
  return (adapter.serves ?? ['generate']).includes(capability);
}

/** The engine's embeddings, or the `unsupported` error when it has none. */
export function embedWith(adapter: EngineAdapter, request: EmbeddingRequest, signal: AbortSignal): Promise<Embeddings> {
  if (!adapter.embed) return Promise.reject(unsupported(adapter.kind, 'embeddings'));
  return adapter.embed(request, signal);
}
