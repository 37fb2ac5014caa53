/**
 * The KV block index (src/actors/router/kv-block-index.ts) against a plain model of an engine's
 * cache. Batches of events are generated from an engine that stores chains of blocks, removes
 * some and sometimes clears; then they reach the index in order, with losses, duplicated and
 * shuffled.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KvBlockIndex } from '../src/actors/router/kv-block-index.js';
import { tokenBlockHash, tokenBlocks } from '../src/actors/router/token-blocks.js';
import type { KvCacheEvent, KvEventBatch } from '../src/protocol/kv-events.js';

const blockSize = 4;

/** One engine operation: store `length` blocks under an existing block (or the root), remove some, or clear. */
const opArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('store' as const), parentPick: fc.nat(), length: fc.integer({ min: 1, max: 4 }), seed: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('remove' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('clear' as const) }) },
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

interface EngineBlock { hash: string; name: number; tokens: number[] }

/** Runs the engine: batches (one per op) and the blocks it holds after each, by the router's names. */
function runEngine(workerId: string, ops: readonly Op[]): { batches: KvEventBatch[]; held: Array<Set<number>> } {
  const held = new Map<string, EngineBlock>();
  let next = 0;
  const batches: KvEventBatch[] = [];
  const after: Array<Set<number>> = [];
  ops.forEach((op, seq) => {
    const events: KvCacheEvent[] = [];
    const heldList = [...held.values()];
    if (op.type === 'store') {
      // Few distinct seeds, so workers and chains share token blocks.
      const parent = heldList.length > 0 && op.parentPick % 3 !== 0 ? heldList[op.parentPick % heldList.length] : undefined;
      let chain = parent?.name ?? 0;
      const blocks: string[] = [];
      const tokens: number[] = [];
      for (let b = 0; b < op.length; b++) {
        const ids = Array.from({ length: blockSize }, (_, t) => op.seed * 100 + b * 10 + t);
        chain = tokenBlockHash(chain, ids, 0, blockSize);
        const hash = `${workerId}-e${next++}`;
        held.set(hash, { hash, name: chain, tokens: ids });
        blocks.push(hash);
        tokens.push(...ids);
      }
      events.push({ type: 'stored', blocks, ...(parent ? { parent: parent.hash } : {}), tokens });
    } else if (op.type === 'remove') {
      const gone = heldList.length === 0 ? [] : [...new Set(op.picks.map((p) => (heldList[p % heldList.length] as EngineBlock).hash))];
      for (const hash of gone) held.delete(hash);
      events.push({ type: 'removed', blocks: gone });
    } else {
      held.clear();
      events.push({ type: 'cleared' });
    }
    batches.push({ type: 'kv-events', workerId, model: 'm', blockSize, seq, ts: seq, events });
    after.push(new Set([...held.values()].map((b) => b.name)));
  });
  return { batches, held: after };
}

/** The rules of kv-block-index.ts, written plainly: which batches count, and the names they leave. */
function model(batches: readonly KvEventBatch[]): Map<string, Set<number>> {
  const state = new Map<string, { lastSeq: number; blocks: Map<string, number> }>();
  for (const batch of batches) {
    let w = state.get(batch.workerId);
    if (w && !(batch.seq === 0 && w.lastSeq > 0) && batch.seq <= w.lastSeq) continue;
    if (!w || batch.seq !== w.lastSeq + 1) w = { lastSeq: batch.seq, blocks: new Map() };
    state.set(batch.workerId, w);
    w.lastSeq = batch.seq;
    for (const e of batch.events) {
      if (e.type === 'cleared') w.blocks.clear();
      if (e.type === 'removed') for (const b of e.blocks) w.blocks.delete(b);
      if (e.type !== 'stored') continue;
      let chain = e.parent === undefined ? 0 : w.blocks.get(e.parent);
      if (chain === undefined) continue;
      e.blocks.forEach((b, k) => {
        chain = tokenBlockHash(chain as number, e.tokens, k * blockSize, (k + 1) * blockSize);
        w.blocks.set(b, chain);
      });
    }
  }
  return new Map([...state].map(([id, w]) => [id, new Set(w.blocks.values())]));
}

const sorted = (names: Iterable<number>): number[] => [...names].sort((a, b) => a - b);

describe('KV block index', () => {
  it('holds exactly what each engine holds when every batch arrives in order', () => {
    fc.assert(
      fc.property(fc.array(fc.array(opArb, { maxLength: 25 }), { minLength: 1, maxLength: 3 }), (fleets) => {
        const index = new KvBlockIndex(blockSize);
        const runs = fleets.map((ops, w) => runEngine(`w${w}`, ops));
        // Interleave the workers' batches: each worker's own stay in order, as NATS keeps them.
        const longest = Math.max(...runs.map((r) => r.batches.length));
        for (let i = 0; i < longest; i++) for (const r of runs) if (r.batches[i]) expect(index.apply(r.batches[i] as KvEventBatch)).toBe('applied');
        runs.forEach((r, w) => expect(sorted(index.namesOf(`w${w}`))).toEqual(sorted(r.held.at(-1) ?? [])));
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with the plain model of its rules over batches lost, duplicated and shuffled', () => {
    fc.assert(
      fc.property(fc.array(fc.array(opArb, { maxLength: 20 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.record({ pick: fc.nat(), copies: fc.integer({ min: 0, max: 2 }) }), { maxLength: 80 }), fc.boolean(),
        (fleets, delivery, shuffle) => {
          const all = fleets.flatMap((ops, w) => runEngine(`w${w}`, ops).batches);
          if (all.length === 0) return;
          // Any sequence drawn from the batches: some lost, some twice, in order or not.
          let arrived = delivery.flatMap(({ pick, copies }) => Array.from({ length: copies }, () => all[pick % all.length] as KvEventBatch));
          if (!shuffle) arrived = arrived.sort((a, b) => a.seq - b.seq);
          const index = new KvBlockIndex(blockSize);
          for (const b of arrived) index.apply(b);
          const expected = model(arrived);
          for (let w = 0; w < fleets.length; w++) expect(sorted(index.namesOf(`w${w}`))).toEqual(sorted(expected.get(`w${w}`) ?? []));
          // The holder sets agree with every worker's names: matching a one-block prompt finds exactly its holders.
          for (const name of new Set([...expected.values()].flatMap((s) => [...s]))) {
            const ids = fleets.map((_, w) => `w${w}`);
            const hits = index.matches([name], ids);
            ids.forEach((id, i) => expect(hits[i]).toBe(index.namesOf(id).includes(name) ? 1 : 0));
          }
        }),
      { numRuns: 500 },
    );
  });

  it('never claims a block the engine no longer holds once a batch after a loss arrives', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), (ops, lost) => {
        const { batches, held } = runEngine('w0', ops);
        const index = new KvBlockIndex(blockSize);
        batches.forEach((b, i) => {
          if (lost[i]) return;
          index.apply(b);
          // Whatever was lost before, after a batch arrives the index holds a subset of the engine.
          for (const name of index.namesOf('w0')) expect(held[i]?.has(name)).toBe(true);
        });
      }),
      { numRuns: 500 },
    );
  });

  it('forgets a worker on a gap, and on a block size other than the model\'s', () => {
    const index = new KvBlockIndex(blockSize);
    const tokens = [1, 2, 3, 4, 5, 6, 7, 8];
    const stored: KvCacheEvent = { type: 'stored', blocks: ['a', 'b'], tokens };
    expect(index.apply({ type: 'kv-events', workerId: 'w', model: 'm', blockSize, seq: 1, ts: 0, events: [stored] })).toBe('applied');
    expect(index.matches(tokenBlocks(tokens, blockSize), ['w'])).toEqual([2]);
    expect(index.apply({ type: 'kv-events', workerId: 'w', model: 'm', blockSize, seq: 3, ts: 0, events: [] })).toBe('gap');
    expect(index.matches(tokenBlocks(tokens, blockSize), ['w'])).toEqual([0]);
    expect(index.hasEvents('w')).toBe(true);
    expect(index.apply({ type: 'kv-events', workerId: 'w', model: 'm', blockSize: 16, seq: 4, ts: 0, events: [stored] })).toBe('block-size-mismatch');
    expect(index.hasEvents('w')).toBe(false);
    expect(index.blocksOf('w')).toBe(0);
  });
});
