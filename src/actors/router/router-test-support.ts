/** Workers and requests for router tests and properties (test support; not used by llmux itself). */
import type { EngineAdapter, EngineEvent } from '../../engine-adapters/adapter.js';
import type { WorkerDescriptor, WorkerLoad } from './registry.protocol.js';
import type { RoutingRequest } from './routing-request.js';

export function workerDescriptor(id: string, overrides: Partial<WorkerDescriptor> = {}): WorkerDescriptor {
  return {
    workerId: id, functionId: 'fn', versionId: 'v1', model: 'm', engineKind: 'test-engine', cluster: 'local', labels: {},
    capacity: 8, heartbeatMs: 1000, ...overrides,
  };
}

export function workerLoad(overrides: Partial<WorkerLoad> = {}): WorkerLoad {
  return {
    inFlight: 0, state: 'active', healthy: true, outcomes: { ok: 0, failed: 0 }, usage: { tokensPerMinute: 0, requestsPerMinute: 0 },
    ...overrides,
  };
}

export function routingRequest(overrides: Partial<RoutingRequest> = {}): RoutingRequest {
  return { requestId: 'r', functionId: 'fn', model: 'm', exclude: [], tokens: 100, ...overrides };
}

/** A deterministic random source (xorshift32) from a seed, so a failing case or a benchmark replays exactly. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** An engine answering one word, noting each request's id in `seen`. */
export const oneWordEngine = (seen: string[] = []): EngineAdapter => ({
  kind: 'one-word',
  async *stream(request): AsyncIterable<EngineEvent[]> {
    seen.push(request.requestId);
    yield [{ type: 'delta', delta: { index: 0, text: 'hi', finishReason: 'stop' } }];
  },
  health: async () => true,
  load: async () => undefined,
  close: async () => undefined,
});
