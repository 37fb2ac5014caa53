/**
 * decide() classifies workers from the table's columns (fleet-columns.ts), kept in step with the
 * entries by every change the table makes. Against the plain rules: exclusionOf on each entry,
 * then the router's own cluster first. Random fleets, then random changes (heartbeats, load
 * events, dispatches, removals) with decisions among them, then a decision: the record must be
 * what the rules say. Half the fleets serve one model, so that decide() classifies from the rows
 * the writes keep alone as often as with the request's model, capability and deployment rules over
 * every worker on top.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EngineCapability } from '../src/engine-adapters/adapter.js';
import { decide } from '../src/actors/router/decision.js';
import { exclusionOf, exclusionReasons } from '../src/actors/router/eligibility.js';
import { routingRequest, workerLoad } from '../src/actors/router/router-test-support.js';
import { newRoutingState } from '../src/actors/router/routing-request.js';
import { effectiveInFlight, type WorkerEntry, type WorkerTable } from '../src/actors/router/worker-table.js';
import { deploymentsArb, methodArb, seededRandom, tableOf, workerSpecArb } from './support.js';

const ids = Array.from({ length: 12 }, (_, i) => `w${i}`);

const changeArb = fc.oneof(
  fc.record({ type: fc.constant('heartbeat' as const), worker: fc.nat(11), inFlight: fc.nat(20), draining: fc.boolean(), healthy: fc.boolean(),
    failed: fc.nat(6), ok: fc.nat(3), capacity: fc.integer({ min: 1, max: 16 }), rpm: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
    serves: fc.constantFrom<EngineCapability[] | undefined>(undefined, ['generate'], ['embed'], ['generate', 'embed']), at: fc.integer({ min: 0, max: 20_000 }) }),
  fc.record({ type: fc.constant('load' as const), worker: fc.nat(11), inFlight: fc.nat(20) }),
  fc.record({ type: fc.constant('routed' as const), worker: fc.nat(11), tokens: fc.nat(5_000) }),
  fc.record({ type: fc.constant('remove' as const), worker: fc.nat(11) }),
  /** A decision in between, which must leave the columns as they were. */
  fc.record({ type: fc.constant('decide' as const), method: methodArb, exclude: fc.subarray(ids), at: fc.integer({ min: 0, max: 25_000 }) }),
);
type Change = typeof changeArb extends fc.Arbitrary<infer T> ? T : never;

/** Outcome counters only grow, per worker, so a heartbeat's failures reach the breaker as a diff. */
function apply(table: WorkerTable, change: Change, outcomes: Map<string, { ok: number; failed: number }>): void {
  if (change.type === 'decide') {
    decide({ request: routingRequest({ exclude: change.exclude }), method: change.method, options: {}, fleet: table.fleet('fn'), state: newRoutingState(), now: change.at, cluster: 'local' });
    return;
  }
  const id = ids[change.worker] as string;
  const w = table.get(id);
  switch (change.type) {
    case 'heartbeat': {
      if (!w) return;
      const before = outcomes.get(id) ?? { ok: w.load.outcomes.ok, failed: w.load.outcomes.failed };
      const now = { ok: before.ok + change.ok, failed: before.failed + change.failed };
      outcomes.set(id, now);
      table.upsert({ ...w.descriptor, capacity: change.capacity, ...(change.serves ? { serves: change.serves } : {}),
        limits: { ...w.descriptor.limits, ...(change.rpm !== undefined ? { requestsPerMinute: change.rpm } : {}) } },
      workerLoad({ ...w.load, inFlight: change.inFlight, state: change.draining ? 'draining' : 'active', healthy: change.healthy, outcomes: now }), change.at);
      return;
    }
    case 'load':
      return table.updateInFlight(id, change.inFlight, 0);
    case 'routed':
      return table.routed(id, change.tokens);
    case 'remove':
      table.remove(id);
      return;
  }
}

describe('decision record - classification from the columns', () => {
  it('says of every worker what exclusionOf says, after any changes, with the router\'s cluster first', () => {
    fc.assert(
      fc.property(fc.array(workerSpecArb, { maxLength: 12 }), fc.boolean(), fc.array(changeArb, { maxLength: 30 }), methodArb,
        fc.subarray(ids), fc.constantFrom(undefined, 'generate' as const, 'embed' as const), fc.constantFrom(undefined, 'local', 'remote'),
        fc.oneof(fc.constant(undefined), deploymentsArb), fc.nat(3_000), fc.integer({ min: 0, max: 25_000 }), fc.nat(),
        (mixed, oneModel, changes, method, exclude, needs, cluster, deployments, tokens, now, seed) => {
          const specs = oneModel ? mixed.map((s) => ({ ...s, model: 'm' as const })) : mixed;
          const table = tableOf(specs);
          // A decision before the changes (which also builds the columns, so the changes go through the mirror, not a rebuild).
          const earlier = decide({ request: routingRequest(), method: 'round-robin', options: {}, fleet: table.fleet('fn'), state: newRoutingState(), now });
          const earlierCapacities = table.ofFunction('fn').map((w) => w.descriptor.capacity);
          const outcomes = new Map<string, { ok: number; failed: number }>();
          for (const change of changes) apply(table, change, outcomes);
          // Its record still says what the workers were then (the descriptors it shares are copied on change).
          expect(earlier.candidates.records().map((r) => r.capacity)).toEqual(earlierCapacities);
          const request = routingRequest({ exclude, tokens, ...(needs ? { needs } : {}), ...(deployments ? { deployments } : {}) });
          const { winner, candidates } = decide({ request, method, options: {}, fleet: table.fleet('fn'), state: newRoutingState(seededRandom(seed)), now,
            ...(cluster ? { cluster } : {}) });
          const workers = table.ofFunction('fn');
          const reasons = workers.map((w) => exclusionOf(w, request, now) as string | undefined);
          const eligible = workers.filter((_, i) => reasons[i] === undefined);
          if (cluster !== undefined && eligible.some((w) => w.descriptor.cluster === cluster) && eligible.some((w) => w.descriptor.cluster !== cluster)) {
            workers.forEach((w, i) => {
              if (reasons[i] === undefined && w.descriptor.cluster !== cluster) reasons[i] = 'other-cluster';
            });
          }
          const records = candidates.records();
          expect(records.map((r) => r.workerId)).toEqual(workers.map((w) => w.descriptor.workerId));
          expect(records.map((r) => r.excluded)).toEqual(reasons);
          expect(records.map((r) => r.inFlight)).toEqual(workers.map(effectiveInFlight));
          expect(records.map((r) => r.capacity)).toEqual(workers.map((w) => w.descriptor.capacity));
          // Only candidates are scored; the winner is one of them.
          records.forEach((r, i) => {
            if (reasons[i] !== undefined) expect(r.score).toBeUndefined();
          });
          if (winner) expect(reasons[workers.indexOf(winner as WorkerEntry)]).toBeUndefined();
          else expect(reasons.every((r) => r !== undefined)).toBe(true);
          // The counts kept in the pass are the records' counts.
          const parts = ['eligible', ...exclusionReasons, 'other-cluster'].flatMap((reason) => {
            const n = reasons.filter((r) => (r ?? 'eligible') === reason).length;
            return n > 0 ? [`${n} ${reason}`] : [];
          });
          expect(candidates.summary()).toBe(workers.length === 0 ? 'no worker serves it' : `${workers.length} worker(s): ${parts.join(', ')}`);
          // The exclusions a routing span reports, from the same counts.
          const excluded = new Map<string, number>();
          for (const r of reasons) if (r !== undefined) excluded.set(r, (excluded.get(r) ?? 0) + 1);
          expect(Object.fromEntries(candidates.exclusions())).toEqual(Object.fromEntries(excluded));
        }),
      { numRuns: 1000 },
    );
  });
});
