/** Arbitraries and helpers shared by the routing properties. */
import fc from 'fast-check';
import type { Deployment, RoutingMethod } from '../src/control/function.schema.js';
import { routingMethods } from '../src/control/function.schema.js';
import { decide } from '../src/actors/router/decision.js';
import type { WorkerLoad } from '../src/actors/router/registry.protocol.js';
import { routingRequest, seededRandom, workerDescriptor, workerLoad } from '../src/actors/router/router-test-support.js';
import { newRoutingState, type RoutingRequest, type RoutingState } from '../src/actors/router/routing-request.js';
import { WorkerTable } from '../src/actors/router/worker-table.js';

export { seededRandom };

export const methodArb: fc.Arbitrary<RoutingMethod> = fc.constantFrom(...routingMethods);

/** Everything about one worker that eligibility looks at. */
export const workerSpecArb = fc.record({
  model: fc.constantFrom('m', 'm', 'm', 'other'),
  cluster: fc.constantFrom('local', 'local', 'remote'),
  capacity: fc.integer({ min: 1, max: 16 }),
  inFlight: fc.nat(20),
  draining: fc.boolean(),
  healthy: fc.boolean(),
  /** Failures in its second report: enough of them open the circuit. */
  failures: fc.nat(6),
  ttftMs: fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined }),
  tokensPerMinute: fc.nat(50_000),
  tpmLimit: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }),
  kvCacheUsage: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  versionId: fc.constantFrom('v1', 'v1', 'v2'),
  gpu: fc.constantFrom('h100', 'l4'),
});
export type WorkerSpec = typeof workerSpecArb extends fc.Arbitrary<infer T> ? T : never;

/** A table built from specs: ids w0..wN; each worker reports twice so its breaker sees the failures. */
export function tableOf(specs: readonly WorkerSpec[], now = 1_000): WorkerTable {
  const table = new WorkerTable();
  specs.forEach((s, i) => {
    const descriptor = workerDescriptor(`w${i}`, {
      model: s.model, cluster: s.cluster, capacity: s.capacity, versionId: s.versionId, labels: { gpu: s.gpu }, ...(s.tpmLimit !== undefined ? { limits: { tokensPerMinute: s.tpmLimit } } : {}),
    });
    const load = (failed: number): WorkerLoad => workerLoad({
      inFlight: s.inFlight, state: s.draining ? 'draining' : 'active', healthy: s.healthy, outcomes: { ok: 1, failed },
      usage: { tokensPerMinute: s.tokensPerMinute, requestsPerMinute: 0 },
      ...(s.ttftMs !== undefined ? { ttftMs: s.ttftMs } : {}),
      ...(s.kvCacheUsage !== undefined ? { engine: { kvCacheUsage: s.kvCacheUsage } } : {}),
    });
    table.upsert(descriptor, load(0), now - 10);
    table.upsert(descriptor, load(s.failures), now);
  });
  return table;
}

export function route(table: WorkerTable, method: RoutingMethod, request: RoutingRequest = routingRequest(), state: RoutingState = newRoutingState(), now = 1_000, cluster?: string) {
  return decide({ request, method, options: {}, fleet: table.fleet(request.functionId), state, now, ...(cluster ? { cluster } : {}) });
}

/** A function's deployments, or none (then every version's workers serve). */
export const deploymentsArb: fc.Arbitrary<ReadonlyMap<string, Deployment> | undefined> = fc.constantFrom(
  undefined,
  new Map([['v1', { deployedAt: '' }]]),
  new Map([['v2', { deployedAt: '' }]]),
  new Map([['v1', { deployedAt: '', cluster: 'remote' }], ['v2', { deployedAt: '' }]]),
  new Map([['v1', { deployedAt: '', labels: { gpu: 'h100' } }]]),
);
