import { describe, expect, it } from 'vitest';
import type { RoutingOptions } from '../../control/function.schema.js';
import { CacheHitTracker } from './cache-hits.js';
import { decide, everyWorkerContext } from './decision.js';
import { costModel } from './methods/cost-model.js';
import { routingRequest, seededRandom, workerDescriptor, workerLoad } from './router-test-support.js';
import { newRoutingState } from './routing-request.js';
import { WorkerTable } from './worker-table.js';

function fleet(inFlight: number[]): WorkerTable {
  const table = new WorkerTable();
  inFlight.forEach((n, i) => table.upsert(workerDescriptor(`w${i}`, { capacity: 64 }), workerLoad({ inFlight: n }), 0));
  return table;
}

/** A 320-token prompt (20 blocks of 16), 64 tokens of completion budget: 24 blocks a request. */
const request = (blocks: number[]) => routingRequest({ promptTokens: 320, tokens: 384, blocks });

describe('cost-model', () => {
  it('scores overlapWeight × prompt blocks left to prefill + in-flight × blocks per request, and takes the lowest', () => {
    const table = fleet([0, 1, 3]);
    const state = newRoutingState(seededRandom(1));
    const blocks = Array.from({ length: 10 }, (_, i) => 500 + i);
    state.prefixes.insert('w2', blocks); // w2 holds the whole prompt
    state.prefixes.insert('w1', blocks.slice(0, 5)); // w1 half of it
    const { winner, candidates, index, winnerCached } = decide({ request: request(blocks), method: 'cost-model', options: { overlapWeight: 1 }, fleet: table.fleet('fn'), state, now: 0 });
    expect([...candidates.scores]).toEqual([20, 10 + 24, 0 + 3 * 24]);
    expect(winner?.descriptor.workerId).toBe('w0');
    expect(index).toBe('approximate');
    // The share of the prompt the winner was expected to hold (the closed loop's prediction).
    expect(winnerCached).toBe(0);
    const heavy = decide({ request: request(blocks), method: 'cost-model', options: { overlapWeight: 4 }, fleet: table.fleet('fn'), state, now: 0 });
    expect([...heavy.candidates.scores]).toEqual([80, 40 + 24, 72]);
    expect(heavy.winner?.descriptor.workerId).toBe('w1');
    expect(heavy.winnerCached).toBe(0.5);
    // The defaults: the blocks to prefill weigh 3, as the lab chose.
    const byDefault = decide({ request: request(blocks), method: 'cost-model', options: {}, fleet: table.fleet('fn'), state, now: 0 });
    expect(byDefault.candidates.scores[0]).toBe(60);
  });

  it('counts a request in flight by the blocks it brought, so a cached prefix is not counted once per request', () => {
    const state = newRoutingState(seededRandom(4));
    const blocks = Array.from({ length: 10 }, (_, i) => 900 + i);
    state.prefixes.insert('w1', blocks); // w1 holds the whole prompt: a request there brings only its 4 completion blocks
    const pick = (table: WorkerTable) => costModel(table.ofFunction('fn'), everyWorkerContext(table.fleet('fn'), request(blocks), state));
    for (let i = 0; i < 100; i++) pick(fleet([0, 0]));
    const chosen = pick(fleet([0, 3]));
    // w0 must prefill all 20 prompt blocks; w1's three requests in flight hold about 3 × 4 blocks of their own.
    expect(chosen?.winner.descriptor.workerId).toBe('w1');
    expect(chosen?.scores?.[1]).toBeLessThan(13);
  });

  it('adds the prefill blocks queued ahead on a worker: the prompt tokens sent to it since its last report that it was not expected to hold', () => {
    const table = fleet([2, 0]);
    // w1 reported none in flight; since then one request of a 1,024-token prompt it did not hold (64 blocks to prefill).
    table.routed('w1', 1024 + 64, 1024);
    const pick = (options: RoutingOptions) => decide({ request: request([]), method: 'cost-model', options: { overlapWeight: 1, ...options }, fleet: table.fleet('fn'), state: newRoutingState(seededRandom(5)), now: 0 });
    // 20 prompt blocks to prefill anywhere, 24 blocks per request in flight (no request seen yet).
    const queued = pick({ pendingPrefillWeight: 1 });
    expect([...queued.candidates.scores]).toEqual([20 + 2 * 24, 20 + 1 * 24 + 64]);
    expect(queued.winner?.descriptor.workerId).toBe('w0');
    expect([...pick({ pendingPrefillWeight: 0.5 }).candidates.scores]).toEqual([20 + 2 * 24, 20 + 1 * 24 + 32]);
    // Off at 0; by default it weighs 2 (with the blocks to prefill at 3).
    const ignored = pick({ pendingPrefillWeight: 0 });
    expect([...ignored.candidates.scores]).toEqual([20 + 2 * 24, 20 + 1 * 24]);
    expect(ignored.winner?.descriptor.workerId).toBe('w1');
    const byDefault = decide({ request: request([]), method: 'cost-model', options: {}, fleet: table.fleet('fn'), state: newRoutingState(seededRandom(5)), now: 0 });
    expect([...byDefault.candidates.scores]).toEqual([60 + 2 * 24, 60 + 1 * 24 + 128]);
    // The worker's next report replaces what was queued with what it says is still to prefill: 320 tokens here, then none.
    table.updateInFlight('w1', 1, 0, 320);
    expect([...pick({ pendingPrefillWeight: 1 }).candidates.scores]).toEqual([20 + 2 * 24, 20 + 1 * 24 + 20]);
    table.updateInFlight('w1', 1, 0, 0);
    expect([...pick({ pendingPrefillWeight: 1 }).candidates.scores]).toEqual([20 + 2 * 24, 20 + 1 * 24]);
  });

  it('with temperature 0 breaks ties at random, each tied worker about as often, never one that costs more', () => {
    const table = fleet([0, 0, 0, 1]);
    const state = newRoutingState(seededRandom(2));
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const w = decide({ request: request([]), method: 'cost-model', options: {}, fleet: table.fleet('fn'), state, now: 0 }).winner?.descriptor.workerId as string;
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    expect(counts.get('w3')).toBeUndefined();
    for (const w of ['w0', 'w1', 'w2']) {
      expect(counts.get(w)).toBeGreaterThan(900);
      expect(counts.get(w)).toBeLessThan(1100);
    }
  });

  it('with a temperature draws workers in proportion to exp(−normalised cost ÷ temperature)', () => {
    const table = fleet([0, 1]);
    const state = newRoutingState(seededRandom(3));
    const counts = { w0: 0, w1: 0 };
    const draw = (options: RoutingOptions): void => {
      const w = decide({ request: request([]), method: 'cost-model', options, fleet: table.fleet('fn'), state, now: 0 }).winner?.descriptor.workerId as 'w0' | 'w1';
      counts[w]++;
    };
    for (let i = 0; i < 4000; i++) draw({ temperature: 1 });
    // Normalised costs 0 and 1: w1's chance is e^-1 / (1 + e^-1) ≈ 0.269.
    expect(counts.w1 / 4000).toBeGreaterThan(0.24);
    expect(counts.w1 / 4000).toBeLessThan(0.3);
  });
});

describe('cache hit tracker', () => {
  it('compares predicted hits with the engine\'s counters between two reports, as a moving error', () => {
    const t = new CacheHitTracker();
    t.reported('w', { prefixCacheQueries: 1000, prefixCacheHits: 500 });
    t.predicted('w', 300);
    t.predicted('w', 300);
    expect(t.errors()).toEqual([]);
    t.reported('w', { prefixCacheQueries: 2000, prefixCacheHits: 700 });
    // Predicted 600 of 1,000 looked up; the engine found 200.
    expect(t.errors()).toEqual([{ workerId: 'w', error: 0.4, predicted: 600, reported: 200 }]);
    // The engine restarted (counters back to 0): only a new baseline.
    t.predicted('w', 100);
    t.reported('w', { prefixCacheQueries: 10, prefixCacheHits: 0 });
    expect(t.errors()[0]?.error).toBe(0.4);
    t.reported('w', { prefixCacheQueries: 110, prefixCacheHits: 100 });
    expect(t.errors()[0]?.error).toBeCloseTo(0.4 + 0.3 * (0 - 1 - 0.4));
  });
});
