// The stepped engine (engine.ts) in model time: what it computes and when, read from its clock, so
// no assertion depends on this machine's speed. A huge speedup makes every step one event-loop turn.
import { describe, expect, it } from 'vitest';
import type { VllmEvent } from '../kv-events/vllm-events.js';
import { hashBlock } from './block-hash.js';
import { defaultEngineModel, type EngineModel, type EngineRun, SimEngine } from './engine.js';
import { newCounters } from './sim-metrics.js';

const never = new AbortController().signal;

function engine(model: Partial<EngineModel> = {}, events?: VllmEvent[]): SimEngine {
  return new SimEngine({ ...defaultEngineModel, speedup: 1e9, ...model }, newCounters(), events ? (e) => events.push(...e) : undefined);
}

const ids = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => from + i);
const output = (i: number): number => 50_000 + i;

/** Model ms from submission to each token. */
async function times(e: SimEngine, run: EngineRun, tokens: number): Promise<number[]> {
  const t0 = e.clockMs;
  const out: number[] = [];
  const signal = new AbortController().signal;
  for (let i = 0; i < tokens; i++) {
    await run.next(signal);
    out.push(e.clockMs - t0);
  }
  run.close();
  return out;
}

const ttftOf = async (e: SimEngine, prompt: number[]): Promise<number> => (await times(e, e.submit(prompt, 1, output), 1))[0] as number;

describe('sim engine', () => {
  it('takes time to first token for the prompt tokens that miss the prefix cache, not for those that hit', async () => {
    const e = engine({ prefillPerContextTokenMs: 0 });
    const prompt = ids(2000);
    const miss = await ttftOf(e, prompt);
    const hit = await ttftOf(e, prompt);
    const half = await ttftOf(e, [...prompt.slice(0, 1000), ...ids(1000, 90_000)]);
    const { decodeBaseMs, prefillTokensPerSecond } = defaultEngineModel;
    expect(miss).toBeCloseTo(decodeBaseMs + (2000 / prefillTokensPerSecond) * 1000, 6);
    // A whole hit still computes its last block, to sample from.
    expect(hit).toBeCloseTo(decodeBaseMs + (16 / prefillTokensPerSecond) * 1000, 6);
    // 62 blocks (992 tokens) hit: the 1,008 tokens after them are computed.
    expect(half).toBeCloseTo(decodeBaseMs + (1008 / prefillTokensPerSecond) * 1000, 6);
    expect(e.counters.prefixCacheHits).toBe(1984 + 992);
    expect(e.counters.prefixCacheQueries).toBe(6000);
  });

  it('prefills a long prompt in chunks of the step token budget', async () => {
    const e = engine({ maxBatchedTokens: 1000 });
    const steps0 = e.steps;
    await ttftOf(e, ids(3500));
    expect(e.steps - steps0).toBe(4);
  });

  it('takes longer per decode step as the running batch grows', async () => {
    const itl = async (batch: number): Promise<number> => {
      const e = engine({ decodePerKvTokenMs: 0 });
      const runs = Array.from({ length: batch }, (_, i) => e.submit(ids(32, i * 1000), 20, output));
      const [first] = await Promise.all(runs.map((r) => times(e, r, 20)));
      return (first![19]! - first![9]!) / 10;
    };
    const { decodeBaseMs, decodePerSeqMs } = defaultEngineModel;
    expect(await itl(1)).toBeCloseTo(decodeBaseMs + decodePerSeqMs, 6);
    expect(await itl(32)).toBeCloseTo(decodeBaseMs + 32 * decodePerSeqMs, 6);
  });

  it('adds attention over the context to a prefill: a suffix after a long cached prefix costs more than alone', async () => {
    const e = engine();
    const { decodeBaseMs, prefillTokensPerSecond, prefillPerContextTokenMs } = defaultEngineModel;
    const prefix = ids(16_000, 1);
    await ttftOf(e, prefix);
    const after = await ttftOf(e, [...prefix, ...ids(1000, 700_000)]);
    const alone = await ttftOf(e, ids(1000, 800_000));
    expect(after).toBeCloseTo(decodeBaseMs + (1000 / prefillTokensPerSecond) * 1000 + prefillPerContextTokenMs * 1000 * (16_000 + 500), 6);
    expect(alone).toBeCloseTo(decodeBaseMs + (1000 / prefillTokensPerSecond) * 1000 + prefillPerContextTokenMs * 1000 * 500, 6);
    expect(after).toBeGreaterThan(alone);
  });

  it('takes longer per decode step as the context grows', async () => {
    const e = engine();
    const { decodeBaseMs, decodePerSeqMs, decodePerKvTokenMs } = defaultEngineModel;
    const step = async (promptTokens: number): Promise<number> => {
      const t = await times(e, e.submit(ids(promptTokens, promptTokens * 10), 3, output), 3);
      return t[2]! - t[1]!; // the second decode step: context = prompt + 1 generated token
    };
    expect(await step(100)).toBeCloseTo(decodeBaseMs + decodePerSeqMs + decodePerKvTokenMs * 101, 6);
    expect(await step(20_000)).toBeCloseTo(decodeBaseMs + decodePerSeqMs + decodePerKvTokenMs * 20_001, 6);
  });

  it('queues beyond maxNumSeqs and preempts when the KV cache is full, finishing every sequence', async () => {
    const e = engine({ kvBlocks: 20, maxNumSeqs: 8 });
    // 4 blocks of prompt each, 7 more to generate 100 tokens: three need 33 blocks of 20.
    const runs = [1, 2, 3].map((n) => e.submit(ids(64, n * 1000), 100, output));
    const seen: number[] = [];
    const done = Promise.all(runs.map(async (r) => (seen.push((await times(e, r, 100)).length))));
    await done;
    expect(seen).toEqual([100, 100, 100]);
    expect(e.counters.preemptions).toBeGreaterThan(0);
    expect([e.running, e.waiting, e.kv.usage]).toEqual([0, 0, 0]);
  });

  it('holds requests waiting while the batch is full', async () => {
    const e = engine({ maxNumSeqs: 2 });
    const runs = [1, 2, 3].map((n) => e.submit(ids(16, n * 100), 5, output));
    await runs[0]!.next(never);
    expect([e.running, e.waiting]).toEqual([2, 1]);
    await Promise.all(runs.map((r) => times(e, r, r === runs[0] ? 4 : 5)));
  });

  it('emits BlockStored with chained hashes, parents and tokens, and BlockRemoved for the least recently used blocks it evicts', async () => {
    const events: VllmEvent[] = [];
    const e = engine({ kvBlocks: 9, blockSize: 16 }, events);
    const a = ids(64, 1);
    await times(e, e.submit(a, 1, output), 1);
    const h0 = hashBlock(undefined, a.slice(0, 16));
    const h1 = hashBlock(h0, a.slice(16, 32));
    const h2 = hashBlock(h1, a.slice(32, 48));
    const h3 = hashBlock(h2, a.slice(48, 64));
    expect(events).toEqual([{ type: 'BlockStored', blockHashes: [h0, h1, h2, h3].map((h) => h.external), parent: undefined, tokenIds: a, blockSize: 16 }]);
    events.length = 0;
    // b shares a's first block: it stores three blocks whose parent is a's first.
    const b = [...a.slice(0, 16), ...ids(48, 5000)];
    await times(e, e.submit(b, 1, output), 1);
    expect(events).toMatchObject([{ type: 'BlockStored', parent: h0.external, tokenIds: b.slice(16) }]);
    events.length = 0;
    // 7 of 9 blocks are cached and idle, 2 empty; a new 64-token prompt needs 4: it evicts two, least
    // recently released first: a's tail (a sequence releases its last block first), not b's blocks.
    await times(e, e.submit(ids(64, 9000), 1, output), 1);
    const removed = events.filter((x) => x.type === 'BlockRemoved').flatMap((x) => x.blockHashes);
    expect(removed).toEqual([h3.external, h2.external]);
    expect(events.at(-1)).toMatchObject({ type: 'BlockStored', parent: undefined });
  });

  it('frees a sequence abandoned while waiting or running', async () => {
    const e = engine({ maxNumSeqs: 1 });
    const first = e.submit(ids(32), 1000, output);
    const second = e.submit(ids(32, 500), 10, output);
    await first.next(never);
    expect(e.waiting).toBe(1);
    second.close();
    expect(e.waiting).toBe(0);
    first.close();
    expect([e.running, e.kv.usage]).toEqual([0, 0]);
  });

  it('refuses a sequence that could never fit in the KV cache', () => {
    expect(() => engine({ kvBlocks: 4 }).submit(ids(60), 10, output)).toThrow(/KV cache/);
  });
});
