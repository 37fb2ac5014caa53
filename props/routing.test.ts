import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exclusionOf } from '../src/actors/router/eligibility.js';
import { routingRequest, workerDescriptor, workerLoad } from '../src/actors/router/router-test-support.js';
import { newRoutingState } from '../src/actors/router/routing-request.js';
import { expiryFactor, utilization, WorkerTable } from '../src/actors/router/worker-table.js';
import { deploymentsArb, methodArb, route, seededRandom, tableOf, workerSpecArb } from './support.js';

describe('worker table - liveness', () => {
  it('keeps a worker that heartbeats and expires one that stops, within three intervals', () => {
    const table = new WorkerTable();
    const hb = 1000;
    table.upsert(workerDescriptor('a'), workerLoad(), 0);
    table.upsert(workerDescriptor('b'), workerLoad(), 0);
    // 'a' keeps heartbeating; 'b' dies right after t=0. Sweeps run every quarter interval.
    let removedAt: number | undefined;
    for (let t = hb / 4; t <= 4 * hb; t += hb / 4) {
      if (t % hb === 0) table.upsert(workerDescriptor('a'), workerLoad(), t);
      if (table.sweep(t).includes('b')) removedAt ??= t;
    }
    expect(table.get('a')).toBeDefined();
    expect(removedAt).toBeDefined();
    expect(removedAt!).toBeLessThanOrEqual(3 * hb);
    expect(removedAt!).toBeGreaterThan(expiryFactor * hb - hb / 4);
  });
});

describe('routing - every method', () => {
  const excludedArb = fc.subarray(['w0', 'w1', 'w2', 'w3']);

  it('never picks an ineligible worker, and finds one whenever one is eligible', () => {
    fc.assert(
      fc.property(fc.array(workerSpecArb, { maxLength: 12 }), methodArb, excludedArb, fc.nat(), fc.constantFrom(undefined, 'local'), deploymentsArb,
        (specs, method, exclude, seed, cluster, deployments) => {
          const table = tableOf(specs);
          const request = routingRequest({ exclude, key: `k${seed % 7}`, blocks: [seed % 3, seed % 5], ...(deployments ? { deployments } : {}) });
          const eligible = table.ofFunction('fn').filter((w) => exclusionOf(w, request, 1_000) === undefined);
          const { winner, candidates: decided } = route(table, method, request, newRoutingState(seededRandom(seed)), 1_000, cluster);
          const candidates = decided.records();
          if (eligible.length === 0) {
            expect(winner).toBeUndefined();
          } else {
            expect(winner).toBeDefined();
            expect(exclusionOf(winner!, request, 1_000)).toBeUndefined();
            // A router prefers its own cluster while it has an eligible worker there.
            if (cluster && eligible.some((w) => w.descriptor.cluster === cluster)) expect(winner!.descriptor.cluster).toBe(cluster);
            // Once a version is deployed, only deployed versions' workers (in its cluster, with its labels) serve.
            const deployment = deployments?.get(winner!.descriptor.versionId);
            if (deployments) {
              expect(deployment).toBeDefined();
              if (deployment?.cluster) expect(winner!.descriptor.cluster).toBe(deployment.cluster);
              for (const [k, v] of Object.entries(deployment?.labels ?? {})) expect(winner!.descriptor.labels[k]).toBe(v);
            }
          }
          // The record lists every worker of the function, with a reason for each one not eligible.
          expect(candidates.map((c) => c.workerId)).toEqual(table.ofFunction('fn').map((w) => w.descriptor.workerId));
          for (const c of candidates) {
            const reason = exclusionOf(table.get(c.workerId)!, request, 1_000);
            if (reason) expect(c.excluded).toBe(reason);
          }
        }),
      { numRuns: 1000 },
    );
  });

  it('least-busy picks a worker with the minimum in-flight relative to capacity', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ inFlight: fc.nat(100), capacity: fc.integer({ min: 101, max: 164 }) }), { minLength: 1, maxLength: 20 }), fc.nat(),
        (loads, seed) => {
          const table = new WorkerTable();
          loads.forEach((l, i) => table.upsert(workerDescriptor(`w${i}`, { capacity: l.capacity }), workerLoad({ inFlight: l.inFlight }), 0));
          const { winner } = route(table, 'least-busy', routingRequest(), newRoutingState(seededRandom(seed)), 0);
          expect(utilization(winner!)).toBe(Math.min(...table.all().map(utilization)));
        }),
      { numRuns: 500 },
    );
  });

  it('round-robin spreads requests over a static set so counts differ by at most one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 300 }), (n, requests) => {
        const table = new WorkerTable();
        for (let i = 0; i < n; i++) table.upsert(workerDescriptor(`w${i}`, { capacity: 1000 }), workerLoad(), 0);
        const state = newRoutingState();
        const counts = new Map<string, number>();
        for (let i = 0; i < requests; i++) {
          const id = route(table, 'round-robin', routingRequest(), state, 0).winner!.descriptor.workerId;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        const values = [...Array(n).keys()].map((i) => counts.get(`w${i}`) ?? 0);
        expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  it('simple-shuffle follows the weights: a weight-3 worker gets about three times the requests of a weight-1 one', () => {
    const table = new WorkerTable();
    table.upsert(workerDescriptor('heavy', { capacity: 1000, weight: 3 }), workerLoad(), 0);
    table.upsert(workerDescriptor('light', { capacity: 1000, weight: 1 }), workerLoad(), 0);
    const state = newRoutingState(seededRandom(42));
    let heavy = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if (route(table, 'simple-shuffle', routingRequest(), state, 0).winner!.descriptor.workerId === 'heavy') heavy++;
    // Expected share 0.75; the binomial standard deviation over 20,000 draws is 0.003.
    expect(Math.abs(heavy / n - 0.75)).toBeLessThan(0.015);
  });

  it('latency-based picks the cheaper of the two it samples, and never a worker it did not sample', () => {
    fc.assert(
      fc.property(fc.array(workerSpecArb, { minLength: 1, maxLength: 10 }), fc.nat(), (specs, seed) => {
        const table = tableOf(specs.map((s) => ({ ...s, model: 'm', draining: false, healthy: true, failures: 0, tpmLimit: undefined, capacity: 64, inFlight: s.inFlight % 32 })));
        const candidates = route(table, 'latency-based', routingRequest(), newRoutingState(seededRandom(seed)));
        const { winner } = candidates;
        const records = candidates.candidates.records();
        const scored = records.filter((c) => c.score !== undefined);
        expect(scored.length).toBe(Math.min(2, records.length));
        const winnerRecord = records.find((c) => c.workerId === winner!.descriptor.workerId)!;
        expect(winnerRecord.score).toBe(Math.min(...scored.map((c) => c.score!)));
      }),
      { numRuns: 300 },
    );
  });

  it('usage-based picks a worker with the fewest tokens per minute among those under their limits', () => {
    fc.assert(
      fc.property(fc.array(workerSpecArb, { minLength: 1, maxLength: 10 }), fc.nat(), (specs, seed) => {
        const table = tableOf(specs.map((s) => ({ ...s, model: 'm', draining: false, healthy: true, failures: 0, capacity: 64, inFlight: 0 })));
        const request = routingRequest({ tokens: 500 });
        const { winner } = route(table, 'usage-based', request, newRoutingState(seededRandom(seed)));
        const underLimit = table.all().filter((w) => exclusionOf(w, request, 1_000) === undefined);
        if (underLimit.length === 0) return void expect(winner).toBeUndefined();
        expect(winner!.load.usage.tokensPerMinute).toBe(Math.min(...underLimit.map((w) => w.load.usage.tokensPerMinute)));
        const limit = winner!.descriptor.limits?.tokensPerMinute;
        if (limit !== undefined) expect(winner!.load.usage.tokensPerMinute + request.tokens).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 300 },
    );
  });
});
