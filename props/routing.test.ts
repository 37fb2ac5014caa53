import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WorkerDescriptor } from '../src/actors/router/registry.protocol.js';
import { leastBusy, newRoutingState, roundRobin } from '../src/actors/router/routing-methods.js';
import { effectiveInFlight, expiryFactor, WorkerTable } from '../src/actors/router/worker-table.js';

const worker = (id: string, heartbeatMs = 1000, capacity = 8): WorkerDescriptor => ({
  workerId: id, functionId: 'fn', versionId: 'v1', model: 'm', engineKind: 'vllm', capacity, heartbeatMs,
});

describe('worker table - liveness', () => {
  it('keeps a worker that heartbeats and expires one that stops, within three intervals', () => {
    const table = new WorkerTable();
    const hb = 1000;
    table.upsert(worker('a', hb), { inFlight: 0 }, 0);
    table.upsert(worker('b', hb), { inFlight: 0 }, 0);
    // 'a' keeps heartbeating; 'b' dies right after t=0. Sweeps run every quarter interval.
    let removedAt: number | undefined;
    for (let t = hb / 4; t <= 4 * hb; t += hb / 4) {
      if (t % hb === 0) table.upsert(worker('a', hb), { inFlight: 0 }, t);
      if (table.sweep(t).includes('b')) removedAt ??= t;
    }
    expect(table.get('a')).toBeDefined();
    expect(removedAt).toBeDefined();
    expect(removedAt!).toBeLessThanOrEqual(3 * hb);
    expect(removedAt!).toBeGreaterThan(expiryFactor * hb - hb / 4);
  });
});

describe('routing methods', () => {
  const load = fc.array(fc.record({ inFlight: fc.nat(100), capacity: fc.integer({ min: 1, max: 64 }) }), { minLength: 1, maxLength: 20 });

  it('least-busy picks a worker with the minimum in-flight relative to capacity', () => {
    fc.assert(
      fc.property(load, fc.double({ min: 0, max: 0.999, noNaN: true }), (loads, r) => {
        const table = new WorkerTable();
        loads.forEach((l, i) => table.upsert(worker(`w${i}`, 1000, l.capacity), { inFlight: l.inFlight }, 0));
        const candidates = table.serving('fn', 'm');
        const chosen = leastBusy(candidates, newRoutingState(() => r));
        const score = (w: (typeof candidates)[number]) => effectiveInFlight(w) / w.descriptor.capacity;
        expect(chosen).toBeDefined();
        expect(candidates).toContain(chosen);
        expect(score(chosen!)).toBe(Math.min(...candidates.map(score)));
      }),
      { numRuns: 300 },
    );
  });

  it('round-robin spreads requests so counts differ by at most one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 200 }), (n, requests) => {
        const table = new WorkerTable();
        for (let i = 0; i < n; i++) table.upsert(worker(`w${i}`), { inFlight: 0 }, 0);
        const state = newRoutingState();
        const counts = new Map<string, number>();
        for (let i = 0; i < requests; i++) {
          const w = roundRobin(table.serving('fn', 'm'), state, 'fn/m')!;
          counts.set(w.descriptor.workerId, (counts.get(w.descriptor.workerId) ?? 0) + 1);
        }
        const values = [...Array(n).keys()].map((i) => counts.get(`w${i}`) ?? 0);
        expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 200 },
    );
  });

  it('never picks a worker outside the candidates, and nothing from an empty set', () => {
    expect(leastBusy([], newRoutingState())).toBeUndefined();
    expect(roundRobin([], newRoutingState(), 'k')).toBeUndefined();
  });
});
