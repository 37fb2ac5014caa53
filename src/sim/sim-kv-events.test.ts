// The simulator with engine timing over real HTTP, publishing vLLM KV events on a real ZeroMQ socket,
// read back with llmux's own subscriber and decoder: what it stores, with which hashes, parents and
// tokens; what it evicts; and its vLLM metrics.
import { describe, expect, it } from 'vitest';
import type { KvCacheEvent } from '../protocol/kv-events.js';
import { requestReplay } from '../kv-events/replay.js';
import { decodeEventBatch, readSeq } from '../kv-events/vllm-events.js';
import { subscribe } from '../kv-events/zmq-sub.js';
import { hashBlock, type BlockHash } from './block-hash.js';
import type { SimServer } from './sim-server.js';
import { metric, post, simulators, waitFor } from './sim-test-support.js';
import { wordId } from './token-ids.js';

const startSim = simulators();
const labels = 'model_name="llmux-sim-8b",engine="0"';

async function listen(sim: SimServer): Promise<{ events: KvCacheEvent[]; seqs: bigint[]; close: () => void }> {
  const events: KvCacheEvent[] = [];
  const seqs: bigint[] = [];
  const kv = sim.kvEvents!;
  const sub = subscribe({
    endpoint: kv.endpoint,
    topic: kv.topic,
    onMessage: (parts) => {
      expect(parts[0]?.toString()).toBe('kv-events');
      seqs.push(readSeq(parts[1]) as bigint);
      events.push(...decodeEventBatch(parts[2] as Buffer).events);
    },
  });
  await waitFor(() => kv.subscribers() === 1, 3000, 'the subscription');
  return { events, seqs, close: () => sub.close() };
}

const words = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `${tag}${i}`);
async function complete(sim: SimServer, prompt: string[], maxTokens = 1): Promise<void> {
  const res = await post(sim, '/v1/completions', { model: 'm', prompt: prompt.join(' '), max_tokens: maxTokens });
  expect(res.status).toBe(200);
  await res.text();
}

function chain(tokens: number[], blockSize: number): BlockHash[] {
  const out: BlockHash[] = [];
  for (let b = 0; b + blockSize <= tokens.length; b += blockSize) out.push(hashBlock(out.at(-1), tokens.slice(b, b + blockSize)));
  return out;
}

describe('sim KV events', () => {
  it('publishes BlockStored for each full block a prompt computes, with chained hashes, parent and token ids', async () => {
    const sim = await startSim({ timing: 'engine', engine: { speedup: 1e6 }, kvEventsPort: 0 });
    const { events, seqs, close } = await listen(sim);
    const prompt = words(40, 'w');
    await complete(sim, prompt);
    await waitFor(() => events.length >= 1, 3000, 'a BlockStored');
    const tokens = prompt.map(wordId);
    const hashes = chain(tokens, 16).map((h) => h.external.toString());
    expect(events).toEqual([{ type: 'stored', blocks: hashes, tokens: tokens.slice(0, 32) }]);
    // A longer prompt sharing the first 32 tokens stores only its new blocks, chained to the second.
    const longer = [...prompt.slice(0, 32), ...words(20, 'x')];
    await complete(sim, longer);
    await waitFor(() => events.length >= 2, 3000, 'a second BlockStored');
    const longerHashes = chain(longer.map(wordId), 16).map((h) => h.external.toString());
    expect(events[1]).toEqual({ type: 'stored', blocks: longerHashes.slice(2), parent: hashes[1], tokens: longer.map(wordId).slice(32, 48) });
    expect(seqs).toEqual([0n, 1n]);
    expect(await metric(sim, `vllm:prefix_cache_hits_total{${labels}}`)).toBe(32);
    expect(await metric(sim, 'vllm:cache_config_info{block_size="16",enable_prefix_caching="True",num_gpu_blocks="26000"}')).toBe(1);
    close();
  });

  it('publishes BlockRemoved for the cached blocks it evicts to make room', async () => {
    const sim = await startSim({ timing: 'engine', engine: { speedup: 1e6, kvBlocks: 8 }, kvEventsPort: 0 });
    const { events, close } = await listen(sim);
    const first = words(64, 'a');
    await complete(sim, first); // 4 blocks, cached once it finishes
    await complete(sim, words(64, 'b')); // 4 more: the cache is full of idle blocks
    await complete(sim, words(64, 'c')); // evicts the least recently used: the first prompt's
    await waitFor(() => events.filter((e) => e.type === 'stored').length === 3, 3000, 'three BlockStored');
    const removed = events.flatMap((e) => (e.type === 'removed' ? e.blocks : []));
    expect(new Set(removed)).toEqual(new Set(chain(first.map(wordId), 16).map((h) => h.external.toString())));
    close();
  });

  it('reports running, waiting, KV usage and preemptions under load, and TTFT in vLLM\'s histogram', async () => {
    const sim = await startSim({ timing: 'engine', engine: { speedup: 4, kvBlocks: 24 }, maxConcurrency: 4 });
    // Six requests of 4 prompt blocks and 100 tokens (7 blocks more) each: 66 blocks wanted of 24.
    const all = Array.from({ length: 6 }, (_, i) => complete(sim, words(64, `p${i}`), 100));
    await waitFor(async () => (await metric(sim, `vllm:num_requests_waiting{${labels}}`))! >= 2, 5000, 'two waiting');
    expect(await metric(sim, `vllm:num_requests_running{${labels}}`)).toBeGreaterThan(0);
    expect(await metric(sim, `vllm:num_requests_running{${labels}}`)).toBeLessThanOrEqual(4);
    expect(await metric(sim, `vllm:kv_cache_usage_perc{${labels}}`)).toBeGreaterThan(0.5);
    await Promise.all(all);
    expect(await metric(sim, `vllm:num_preemptions_total{${labels}}`)).toBeGreaterThan(0);
    expect(await metric(sim, `vllm:time_to_first_token_seconds_count{${labels}}`)).toBe(6);
    expect(await metric(sim, `vllm:inter_token_latency_seconds_count{${labels}}`)).toBe(6 * 99);
    expect(await metric(sim, `vllm:kv_cache_usage_perc{${labels}}`)).toBe(0);
  });

  it('answers replay requests with the batches from a sequence number on, then the end marker', async () => {
    const sim = await startSim({ timing: 'engine', engine: { speedup: 1e6 }, kvEventsPort: 0, kvEventsReplayPort: 0 });
    const { seqs, close } = await listen(sim);
    for (const tag of ['a', 'b', 'c']) await complete(sim, words(32, tag));
    await waitFor(() => seqs.length === 3, 3000, 'three batches');
    const replayed = await requestReplay(sim.kvEvents!.replayEndpoint!, 1n);
    expect(replayed.map((b) => b.seq)).toEqual([1n, 2n]);
    expect(decodeEventBatch(replayed[1]!.payload).events[0]).toMatchObject({ type: 'stored', tokens: words(32, 'c').map(wordId) });
    expect(await requestReplay(sim.kvEvents!.replayEndpoint!, 9n)).toEqual([]);
    close();
  });

  it('refuses KV events without the engine timing', async () => {
    await expect(startSim({ kvEventsPort: 0 })).rejects.toThrow(/engine timing/);
  });
});
