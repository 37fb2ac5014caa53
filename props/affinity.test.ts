import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RoutingOptions } from '../src/control/function.schema.js';
import { decide } from '../src/actors/router/decision.js';
import { routingRequest, workerDescriptor, workerLoad } from '../src/actors/router/router-test-support.js';
import { newRoutingState, type RoutingState } from '../src/actors/router/routing-request.js';
import { effectiveInFlight, WorkerTable } from '../src/actors/router/worker-table.js';

const hashings = ['rendezvous', 'consistent'] as const;
const keys = Array.from({ length: 2_000 }, (_, i) => `session-${i}`);

function idleTable(ids: readonly string[]): WorkerTable {
  const table = new WorkerTable();
  for (const id of ids) table.upsert(workerDescriptor(id, { capacity: 1_000 }), workerLoad(), 0);
  return table;
}

function owners(table: WorkerTable, options: RoutingOptions, state: RoutingState = newRoutingState()): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of keys) {
    const { winner } = decide({ request: routingRequest({ key }), method: 'session-affinity', options, fleet: table.fleet('fn'), state, now: 0 });
    out.set(key, winner!.descriptor.workerId);
  }
  return out;
}

const idsArb = fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { minLength: 2, maxLength: 12 });

describe.each(hashings)('session affinity (%s hashing)', (hashing) => {
  const options: RoutingOptions = { hashing };

  it('removing a worker remaps only the keys it held (exactly: no other key moves)', () => {
    fc.assert(
      fc.property(idsArb, fc.nat(), (ids, pick) => {
        const gone = ids[pick % ids.length]!;
        const before = owners(idleTable(ids), options);
        const after = owners(idleTable(ids.filter((id) => id !== gone)), options);
        for (const key of keys) {
          if (before.get(key) !== gone) expect(after.get(key)).toBe(before.get(key));
          else expect(after.get(key)).not.toBe(gone);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('adding a worker moves keys only to it, about 1/(N+1) of them (tolerance: at most 1.5/(N+1) + 2 points)', () => {
    fc.assert(
      fc.property(idsArb, (ids) => {
        const [added, ...rest] = ids as [string, ...string[]];
        const before = owners(idleTable(rest), options);
        const after = owners(idleTable(ids), options);
        let moved = 0;
        for (const key of keys) {
          if (after.get(key) === before.get(key)) continue;
          expect(after.get(key)).toBe(added);
          moved++;
        }
        const share = moved / keys.length;
        const expected = 1 / ids.length;
        expect(share).toBeLessThanOrEqual(1.5 * expected + 0.02);
        expect(share).toBeGreaterThanOrEqual(0.5 * expected - 0.02);
      }),
      { numRuns: 25 },
    );
  });

  it('bounded load: no worker ever holds more than ceil(loadBound × mean) in-flight requests, hot keys included', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 10 }), fc.array(fc.nat(5), { minLength: 1, maxLength: 300 }), fc.constantFrom(1, 1.25, 2),
        (n, keyPicks, loadBound) => {
          const table = idleTable(Array.from({ length: n }, (_, i) => `w${i}`));
          const state = newRoutingState();
          keyPicks.forEach((k, m) => {
            const { winner } = decide({ request: routingRequest({ key: `hot-${k}` }), method: 'session-affinity', options: { hashing, loadBound },
              fleet: table.fleet('fn'), state, now: 0 });
            table.routed(winner!.descriptor.workerId, 0);
            const bound = Math.ceil((loadBound * (m + 1)) / n);
            expect(Math.max(...table.all().map(effectiveInFlight))).toBeLessThanOrEqual(bound);
          });
        }),
      { numRuns: 200 },
    );
  });

  it('while load allows, a key keeps its worker', () => {
    const table = idleTable(['a', 'b', 'c', 'd']);
    const first = owners(table, options);
    const second = owners(table, options);
    expect(second).toEqual(first);
  });
});
