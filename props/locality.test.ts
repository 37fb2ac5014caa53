import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { localityModes } from '../src/control/function.schema.js';
import { exclusionOf } from '../src/actors/router/eligibility.js';
import { chooseRoute, localView, type RemoteCandidate } from '../src/actors/router/locality.js';
import { RemoteClusters, summaryExpiryIntervals } from '../src/actors/router/remote-clusters.js';
import { routingRequest, workerDescriptor, workerLoad } from '../src/actors/router/router-test-support.js';
import { newRoutingState } from '../src/actors/router/routing-request.js';
import type { SummaryEntry } from '../src/actors/router/summary.protocol.js';
import { effectiveInFlight, WorkerTable } from '../src/actors/router/worker-table.js';
import { methodArb, route, seededRandom, tableOf, workerSpecArb } from './support.js';

/** The router's own cluster in these properties (the workers' default). */
const home = 'local';

/** Remote clusters r0..r4, each with some ready workers and free slots (none free when none is ready). */
const remotesArb: fc.Arbitrary<RemoteCandidate[]> = fc.uniqueArray(
  fc.record({ cluster: fc.constantFrom('r0', 'r1', 'r2', 'r3', 'r4'), ready: fc.nat(3), free: fc.nat(20) }),
  { selector: (r) => r.cluster, maxLength: 5 },
).map((rs) => rs.map(({ cluster, ready, free }) => {
  const f = ready === 0 ? 0 : free;
  return { cluster, workers: ready + 1, ready, capacity: f + 4, inFlight: 4, free: f, ageMs: 0 };
}));

const spillAtArb = fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true }));

/** A router's whole choice for random local workers (all of its own cluster, as its scoped registry gives it). */
function choose(specs: Parameters<typeof tableOf>[0], remotes: RemoteCandidate[], mode: (typeof localityModes)[number], spillAt: number,
  method: Parameters<typeof route>[1], seed: number, spilledFrom?: string) {
  const table = tableOf(specs.map((s) => ({ ...s, cluster: home })));
  const request = routingRequest({ exclude: seed % 3 === 0 ? ['w0'] : [] });
  const { winner, candidates } = route(table, method, request, newRoutingState(seededRandom(seed)), 1_000, home);
  const decision = chooseRoute({ mode, local: localView(candidates, home, spillAt), remotes: () => remotes, ...(spilledFrom ? { spilledFrom } : {}) });
  const eligible = table.ofFunction('fn').filter((w) => exclusionOf(w, request, 1_000) === undefined);
  const belowThreshold = eligible.filter((w) => effectiveInFlight(w) / w.descriptor.capacity < spillAt);
  const localFree = eligible.reduce((sum, w) => sum + Math.max(0, w.descriptor.capacity - effectiveInFlight(w)), 0);
  return { winner, decision, eligible, belowThreshold, localFree };
}

const maxRemoteFree = (remotes: RemoteCandidate[]): number => Math.max(0, ...remotes.filter((r) => r.ready > 0).map((r) => r.free));

describe('locality - which cluster serves', () => {
  const specsArb = fc.array(workerSpecArb, { maxLength: 10 });

  it('strict never leaves the cluster, and a request spilled here is never spilled again', () => {
    fc.assert(
      fc.property(specsArb, remotesArb, fc.constantFrom(...localityModes), spillAtArb, methodArb, fc.nat(), (specs, remotes, mode, spillAt, method, seed) => {
        const strict = choose(specs, remotes, 'strict', spillAt, method, seed);
        expect(strict.decision.choice).toEqual({ type: 'local' });
        if (strict.winner) expect(strict.winner.descriptor.cluster).toBe(home);
        expect(choose(specs, remotes, mode, spillAt, method, seed, 'r0').decision.choice).toEqual({ type: 'local' });
      }),
      { numRuns: 500 },
    );
  });

  it('prefer never spills while a local eligible worker is below spillAt, and always spills when none is and a remote cluster has room', () => {
    fc.assert(
      fc.property(specsArb, remotesArb, spillAtArb, methodArb, fc.nat(), (specs, remotes, spillAt, method, seed) => {
        const { decision, belowThreshold } = choose(specs, remotes, 'prefer', spillAt, method, seed);
        if (belowThreshold.length > 0) {
          expect(decision.choice).toEqual({ type: 'local' });
        } else if (maxRemoteFree(remotes) > 0) {
          expect(decision.choice.type).toBe('spill');
          // To a cluster with the most room.
          if (decision.choice.type === 'spill') expect(remotes.find((r) => r.cluster === (decision.choice as { cluster: string }).cluster)?.free).toBe(maxRemoteFree(remotes));
        } else {
          expect(decision.choice).toEqual({ type: 'local' });
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('prefer names the state of the local workers it left: absent, saturated, unhealthy or draining', () => {
    const states = ['absent', 'saturated', 'unhealthy', 'draining'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...states), fc.integer({ min: 1, max: 6 }), remotesArb.filter((r) => maxRemoteFree(r) > 0), (state, n, remotes) => {
        const table = new WorkerTable();
        for (let i = 0; i < (state === 'absent' ? 0 : n); i++) {
          table.upsert(workerDescriptor(`w${i}`, { capacity: 4 }), workerLoad({
            inFlight: state === 'saturated' ? 4 : 0, state: state === 'draining' ? 'draining' : 'active', healthy: state !== 'unhealthy',
          }), 0);
        }
        // Workers of another model do not count as local ones.
        table.upsert(workerDescriptor('other-model', { model: 'x' }), workerLoad(), 0);
        const { candidates } = route(table, 'least-busy', routingRequest(), newRoutingState(), 0, home);
        const { choice } = chooseRoute({ mode: 'prefer', local: localView(candidates, home, 1), remotes: () => remotes });
        expect(choice).toMatchObject({ type: 'spill', reason: `local-${state}` });
      }),
      { numRuns: 300 },
    );
  });

  it('any picks a cluster with the most free slots, its own on a tie', () => {
    fc.assert(
      fc.property(specsArb, remotesArb, methodArb, fc.nat(), (specs, remotes, method, seed) => {
        const { decision, localFree } = choose(specs, remotes, 'any', 1, method, seed);
        const best = Math.max(localFree, maxRemoteFree(remotes));
        if (decision.choice.type === 'spill') {
          const chosen = decision.choice.cluster;
          expect(remotes.find((r) => r.cluster === chosen)?.free).toBe(best);
          expect(best).toBeGreaterThan(localFree);
          expect(decision.choice.reason).toBe('any-most-free');
        } else {
          expect(localFree).toBe(best);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('locality - remote summaries', () => {
  const entry: SummaryEntry = { functionId: 'fn', versionId: 'v1', model: 'm', workers: 1, ready: 1, capacity: 4, inFlight: 0, free: 4, healthy: true };
  const intervalArb = fc.integer({ min: 100, max: 2_000 });

  it('never offers a cluster whose last summary arrived more than three of its intervals ago', () => {
    const eventArb = fc.record({ cluster: fc.constantFrom('b', 'c', 'd'), gap: fc.nat(5_000), skew: fc.integer({ min: -3_000, max: 3_000 }), intervalMs: intervalArb });
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), fc.nat(10_000), (events, after) => {
        const remotes = new RemoteClusters('a');
        const lastAccepted = new Map<string, { at: number; intervalMs: number }>();
        let now = 0;
        for (const e of events) {
          now += e.gap;
          // Senders' clocks are skewed: `at` need not follow the receiver's time.
          if (remotes.accept({ type: 'summary', cluster: e.cluster, routerId: `r-${e.cluster}`, at: now + e.skew, intervalMs: e.intervalMs, entries: [entry] }, now) === 'accepted') {
            lastAccepted.set(e.cluster, { at: now, intervalMs: e.intervalMs });
          }
          for (const c of remotes.candidates('fn', 'm', now)) expect(lastAccepted.get(c.cluster)?.at).toBe(now - c.ageMs);
        }
        const t = now + after;
        const offered = new Set(remotes.candidates('fn', 'm', t).map((c) => c.cluster));
        for (const [cluster, { at, intervalMs }] of lastAccepted) {
          expect(offered.has(cluster)).toBe(t - at <= summaryExpiryIntervals * intervalMs);
        }
        expect([...offered].every((c) => lastAccepted.has(c))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps offering a cluster while any of its routers keeps sending, and drops it three intervals after the last', () => {
    fc.assert(
      fc.property(intervalArb, fc.array(fc.double({ min: 0.2, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }), fc.nat(3), (intervalMs, gaps, senders) => {
        const remotes = new RemoteClusters('a');
        let now = 0;
        let accepted = 0;
        gaps.forEach((g, i) => {
          now += Math.floor(g * intervalMs);
          // Several routers of the cluster take turns, each with its own clock offset: the one whose clock
          // runs ahead wins while it keeps sending, and never holds the others off for longer than an interval.
          const sender = i % (senders + 1);
          if (remotes.accept({ type: 'summary', cluster: 'b', routerId: `r${sender}`, at: now + sender * 700, intervalMs, entries: [entry] }, now) === 'accepted') accepted = now;
          expect(now - accepted).toBeLessThan(intervalMs);
          expect(remotes.candidates('fn', 'm', now)).toHaveLength(1);
        });
        expect(remotes.candidates('fn', 'm', accepted + summaryExpiryIntervals * intervalMs)).toHaveLength(1);
        expect(remotes.candidates('fn', 'm', accepted + summaryExpiryIntervals * intervalMs + 1)).toHaveLength(0);
      }),
      { numRuns: 500 },
    );
  });
});
