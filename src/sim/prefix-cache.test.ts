// The simulator's prefix cache: unit behaviour, and its effect on TTFT and /metrics over real HTTP.
import { describe, expect, it } from 'vitest';
import { PrefixCache } from './prefix-cache.js';
import type { SimServer } from './sim-server.js';
import { chatBody, metric, post, simulators } from './sim-test-support.js';

const text = (n: number, seed = 'x'): string => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * 7 + seed.charCodeAt(0)) % 26))).join('');

describe('prefix cache', () => {
  it('hits every full block of a repeated prompt, never the partial tail', () => {
    const cache = new PrefixCache(100, 64);
    const prompt = text(64 * 3 + 10);
    expect(cache.admit(prompt)).toEqual({ blocks: 4, hitBlocks: 0, cachedShare: 0 });
    const again = cache.admit(prompt);
    expect(again.hitBlocks).toBe(3);
    expect(again.cachedShare).toBeCloseTo((3 * 64) / prompt.length, 10);
  });

  it('hits a shared prefix only up to the first block that differs, and nothing after a different first block', () => {
    const cache = new PrefixCache(100, 64);
    const common = text(128);
    cache.admit(common + text(128, 'a'));
    expect(cache.admit(common + text(128, 'b')).hitBlocks).toBe(2);
    // Same blocks 1..3, different block 0: chained hashes make them misses.
    expect(cache.admit(`Z${common.slice(1)}${text(128, 'a')}`).hitBlocks).toBe(0);
  });

  it('evicts the least recently used blocks beyond its capacity', () => {
    const cache = new PrefixCache(4, 64);
    const a = text(128, 'a');
    const b = text(128, 'b');
    const c = text(128, 'c');
    cache.admit(a);
    cache.admit(b);
    cache.admit(a); // refreshes a
    cache.admit(c); // evicts b's two blocks
    expect(cache.size).toBe(4);
    expect(cache.admit(a).hitBlocks).toBe(2);
    expect(cache.admit(b).hitBlocks).toBe(0);
  });

  it('never hits with capacity 0, and counts an empty prompt as nothing cached', () => {
    const off = new PrefixCache(0, 64);
    const a = text(256, 'a');
    off.admit(a);
    expect(off.admit(a)).toEqual({ blocks: 4, hitBlocks: 0, cachedShare: 0 });
    expect(off.size).toBe(0);
    expect(new PrefixCache(10, 64).admit('')).toEqual({ blocks: 0, hitBlocks: 0, cachedShare: 0 });
  });
});

describe('prefix cache in the simulator', () => {
  const startSim = simulators();
  const labels = 'model_name="llmux-sim-8b",engine="0"';

  /** Time from sending to the first SSE data line, the way a client measures TTFT. */
  async function ttft(sim: SimServer, content: string): Promise<number> {
    const t0 = performance.now();
    const res = await post(sim, '/v1/chat/completions', chatBody(content, { stream: true, max_tokens: 2 }));
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = '';
    let took: number | undefined;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      seen += r.value;
      if (took === undefined && /^data: /m.test(seen)) took = performance.now() - t0;
    }
    if (took === undefined) throw new Error(`no SSE data line in ${JSON.stringify(seen)}`);
    return took;
  }

  it('answers a repeated long prompt sooner, and counts cached prompt tokens in /metrics', async () => {
    const sim = await startSim({ ttftMs: 200 });
    const prompt = `${'lorem ipsum dolor sit amet '.repeat(80)}`; // ~2,000 characters
    const first = await ttft(sim, prompt);
    expect(await metric(sim, `vllm:prefix_cache_hits_total{${labels}}`)).toBe(0);
    expect(await metric(sim, `vllm:prefix_cache_queries_total{${labels}}`)).toBeGreaterThan(0);
    const second = await ttft(sim, prompt);
    expect(second).toBeLessThan(0.6 * first);
    expect(await metric(sim, `vllm:prefix_cache_hits_total{${labels}}`)).toBeGreaterThan(0);
    expect(sim.stats().prefixCache.hits).toBeGreaterThan(0.9 * sim.stats().prefixCache.queries / 2);
  });

  it('leaves the cache alone for a [[sim:fail]] request', async () => {
    const sim = await startSim();
    const res = await post(sim, '/v1/chat/completions', chatBody(`[[sim:fail]] ${'x'.repeat(500)}`));
    expect(res.status).toBe(500);
    await res.text();
    expect(sim.stats().prefixCache).toEqual({ queries: 0, hits: 0 });
  });
});
