// The engine under random workloads (fast-check, seeded; a failure prints its seed and case): every
// sequence finishes with all its tokens, the KV cache ends empty of references, and an index built
// only from the KV events (what a router keeps) equals the blocks the cache holds, with no block
// stored twice or removed without being stored.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VllmEvent } from '../kv-events/vllm-events.js';
import { defaultEngineModel, SimEngine } from './engine.js';
import { newCounters } from './sim-metrics.js';

const request = fc.record({
  prefix: fc.integer({ min: 0, max: 3 }), // four shared system prompts
  prefixBlocks: fc.integer({ min: 0, max: 4 }),
  ownTokens: fc.integer({ min: 1, max: 70 }),
  maxTokens: fc.integer({ min: 1, max: 40 }),
  delaySteps: fc.integer({ min: 0, max: 3 }),
});

describe('sim engine - properties', () => {
  it('finishes every sequence and keeps an event-built index equal to its cache', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(request, { minLength: 1, maxLength: 24 }),
        fc.integer({ min: 12, max: 60 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 8, max: 200 }),
        async (requests, kvBlocks, maxNumSeqs, maxBatchedTokens) => {
          const events: VllmEvent[] = [];
          const engine = new SimEngine({ ...defaultEngineModel, blockSize: 4, kvBlocks, maxNumSeqs, maxBatchedTokens, speedup: 1e9 }, newCounters(), (e) => events.push(...e));
          const index = new Set<bigint>();
          const apply = (): void => {
            for (const e of events.splice(0)) {
              if (e.type === 'BlockStored') {
                for (const h of e.blockHashes) {
                  expect(index.has(h)).toBe(false);
                  index.add(h);
                }
                expect(e.tokenIds.length).toBe(e.blockHashes.length * 4);
              } else if (e.type === 'BlockRemoved') {
                for (const h of e.blockHashes) expect(index.delete(h)).toBe(true);
              } else index.clear();
            }
          };
          const runs = requests
            .filter((r) => Math.ceil((r.prefixBlocks * 4 + r.ownTokens + r.maxTokens) / 4) <= kvBlocks)
            .map(async (r, n) => {
              for (let i = 0; i < r.delaySteps; i++) await new Promise((resolve) => setImmediate(resolve));
              const prompt = [...Array.from({ length: r.prefixBlocks * 4 }, (_, i) => 1000 * (r.prefix + 1) + i), ...Array.from({ length: r.ownTokens }, (_, i) => 100_000 + n * 100 + i)];
              const run = engine.submit(prompt, r.maxTokens, (i) => 50_000 + i);
              const signal = new AbortController().signal;
              for (let i = 0; i < r.maxTokens; i++) await run.next(signal);
              run.close();
              return r.maxTokens;
            });
          await Promise.all(runs);
          apply();
          expect([engine.running, engine.waiting, engine.kv.usage]).toEqual([0, 0, 0]);
          expect(index).toEqual(engine.kv.cachedHashes());
        },
      ),
      { seed: 1612, numRuns: 150 },
    );
  });
});
