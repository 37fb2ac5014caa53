import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../src/actors/router/decision.js';
import { prefixBlocks } from '../src/actors/router/hash.js';
import { BlockHolders } from '../src/actors/router/block-holders.js';
import { defaultLoadWeight } from '../src/actors/router/methods/prefix-aware.js';
import { routingRequest, workerDescriptor, workerLoad } from '../src/actors/router/router-test-support.js';
import { newRoutingState } from '../src/actors/router/routing-request.js';
import { utilization, WorkerTable } from '../src/actors/router/worker-table.js';
import { seededRandom } from './support.js';

describe('prefix blocks', () => {
  it('two prompts share exactly the leading blocks where their text is equal', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 600 }), fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), (common, a, b) => {
        const x = prefixBlocks(common + a, 100);
        const y = prefixBlocks(common + b, 100);
        let shared = 0;
        while (shared < Math.min(x.length, y.length) && x[shared] === y[shared]) shared++;
        // Blocks wholly inside the common text are shared; a block past the first difference never is.
        expect(shared).toBeGreaterThanOrEqual(Math.floor(common.length / 64));
        const firstDiff = [...(common + a)].findIndex((ch, i) => ch !== (common + b)[i]);
        if (firstDiff >= 0) expect(shared).toBeLessThanOrEqual(Math.floor(firstDiff / 64));
      }),
      { numRuns: 500 },
    );
  });
});

describe('leading blocks', () => {
  /** The plain rule: a worker holds the prompt's first k blocks when it holds each of them. */
  const leading = (blocks: readonly number[], holders: ReadonlyMap<number, ReadonlySet<string>>, id: string): number => {
    let k = 0;
    while (k < blocks.length && holders.get(blocks[k] as number)?.has(id)) k++;
    return k;
  };
  // 70 workers: numbers span three words of the bitsets.
  const ids = Array.from({ length: 70 }, (_, i) => `w${i}`);
  // Mostly adds, so blocks are shared by many workers and prompts are held some way in.
  const op = fc.oneof(
    { weight: 8, arbitrary: fc.record({ type: fc.constant('add' as const), block: fc.integer({ min: 0, max: 7 }), worker: fc.constantFrom(...ids) }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('delete' as const), block: fc.integer({ min: 0, max: 7 }), worker: fc.constantFrom(...ids) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('forget' as const), worker: fc.constantFrom(...ids) }) },
  );

  it('after any adds, deletes and forgotten workers (numbers reused), every candidate gets the leading blocks it holds, and those left out 0', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 300, size: 'max' }), fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 12 }), fc.shuffledSubarray(ids),
        fc.subarray(ids), (ops, blocks, candidates, without) => {
          const store = new BlockHolders();
          const model = new Map<number, Set<string>>();
          const take = (id: string) => !without.includes(id);
          const candidateAt = Int32Array.from(ids, (id) => candidates.indexOf(id));
          const check = () => {
            for (let b = 0; b < 8; b++) for (const id of ids) expect(store.has(b, id)).toBe(model.get(b)?.has(id) ?? false);
            expect(store.size).toBe([...model.values()].filter((h) => h.size > 0).length);
            const want = candidates.map((id) => (take(id) ? leading(blocks, model, id) : 0));
            expect(store.leading(blocks, candidates, take)).toEqual(want);
            // A decision's walk: candidates among a fleet's ids, in another order (the same array each time: its slots are kept).
            expect(Array.from(store.walk(blocks, ids, candidateAt, candidates.length, (k) => take(candidates[k] as string)))).toEqual(want);
          };
          ops.forEach((o, i) => {
            if (o.type === 'add') {
              store.add(o.block, o.worker);
              model.set(o.block, (model.get(o.block) ?? new Set()).add(o.worker));
            } else if (o.type === 'delete') {
              store.delete(o.block, o.worker);
              model.get(o.block)?.delete(o.worker);
            } else {
              // As the indexes forget a worker: its blocks, then its number.
              for (const [block, holders] of model) if (holders.delete(o.worker)) store.delete(block, o.worker);
              store.release(o.worker);
            }
            if (i % 100 === 99) check();
          });
          check();
        }),
      { numRuns: 300 },
    );
  });
});

describe('prefix-aware routing', () => {
  const loadsArb = fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 2, maxLength: 8 });

  it('sends a prefix back to the worker that served it while its load is within 1/loadWeight of the least loaded', () => {
    fc.assert(
      fc.property(loadsArb, fc.nat(), fc.integer({ min: 1, max: 40 }), fc.nat(), (loads, holderPick, blockCount, seed) => {
        const table = new WorkerTable();
        loads.forEach((inFlight, i) => table.upsert(workerDescriptor(`w${i}`, { capacity: 16 }), workerLoad({ inFlight }), 0));
        const holder = `w${holderPick % loads.length}`;
        const state = newRoutingState(seededRandom(seed));
        const blocks = Array.from({ length: blockCount }, (_, i) => seed * 1000 + i);
        state.prefixes.insert(holder, blocks);
        const { winner } = decide({ request: routingRequest({ blocks }), method: 'prefix-aware', options: {}, fleet: table.fleet('fn'), state, now: 0 });
        const holderEntry = table.get(holder)!;
        const others = table.all().filter((w) => w !== holderEntry);
        const gap = utilization(holderEntry) - Math.min(...others.map(utilization));
        const holderEligible = holderEntry.load.inFlight < 16;
        if (holderEligible && defaultLoadWeight * gap < 1) expect(winner!.descriptor.workerId).toBe(holder);
        if (defaultLoadWeight * gap > 1) expect(winner!.descriptor.workerId).not.toBe(holder);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps a conversation on one worker as it grows, when load is even', () => {
    const table = new WorkerTable();
    for (let i = 0; i < 4; i++) table.upsert(workerDescriptor(`w${i}`, { capacity: 64 }), workerLoad(), 0);
    const state = newRoutingState(seededRandom(7));
    let conversation = 'system: you are a helpful assistant that answers questions about routing. '.repeat(3);
    const chosen = new Set<string>();
    for (let turn = 0; turn < 10; turn++) {
      conversation += `user: question number ${turn} about prefix caches and load balancing?\nassistant: an answer of some length ${turn}.\n`;
      const blocks = prefixBlocks(conversation, 512);
      const { winner } = decide({ request: routingRequest({ blocks }), method: 'prefix-aware', options: {}, fleet: table.fleet('fn'), state, now: 0 });
      state.prefixes.insert(winner!.descriptor.workerId, blocks);
      chosen.add(winner!.descriptor.workerId);
    }
    expect(chosen.size).toBe(1);
  });
});

describe('kv-aware routing', () => {
  it('without a cached prefix, picks a worker with the least load: in-flight plus the engine\'s queue, per unit of capacity (not its KV usage)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ kv: fc.integer({ min: 0, max: 64 }).map((k) => k / 64), inFlight: fc.nat(16), waiting: fc.nat(8) }), { minLength: 1, maxLength: 10 }), fc.nat(),
        (engines, seed) => {
          const table = new WorkerTable();
          engines.forEach((e, i) => table.upsert(workerDescriptor(`w${i}`, { capacity: 16 }),
            workerLoad({ inFlight: e.inFlight, engine: { kvCacheUsage: e.kv, waiting: e.waiting } }), 0));
          const { winner } = decide({ request: routingRequest({ blocks: [1, 2, 3] }), method: 'kv-aware', options: {},
            fleet: table.fleet('fn'), state: newRoutingState(seededRandom(seed)), now: 0 });
          const load = (e: { inFlight: number; waiting: number }) => (e.inFlight + e.waiting) / 16;
          // A worker with 16 in flight is at capacity: not a candidate.
          const candidates = engines.filter((e) => e.inFlight < 16);
          if (candidates.length === 0) {
            expect(winner).toBeUndefined();
            return;
          }
          const index = Number(winner!.descriptor.workerId.slice(1));
          expect(engines[index]!.inFlight).toBeLessThan(16);
          expect(load(engines[index]!)).toBe(Math.min(...candidates.map(load)));
        }),
      { numRuns: 500 },
    );
  });
});
