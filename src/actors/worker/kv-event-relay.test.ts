// The relay's batch splitting: a batch too big for one NATS message becomes several whose events,
// joined, say exactly what the engine said (a long BlockStored is cut into pieces chained by parent).
import { describe, expect, it } from 'vitest';
import type { KvCacheEvent } from '../../protocol/kv-events.js';
import { splitEvents } from './kv-event-relay.js';

describe('kv event relay - splitting', () => {
  const blocks = Array.from({ length: 10 }, (_, i) => `h${i}`);
  const tokens = Array.from({ length: 20 }, (_, i) => i);
  const events: KvCacheEvent[] = [{ type: 'cleared' }, { type: 'stored', blocks, parent: 'p', tokens }, { type: 'removed', blocks: ['x', 'y', 'z'] }];

  it('keeps a batch that fits whole', () => {
    expect(splitEvents(events, 2, 1_000_000)).toEqual([events]);
  });

  it('cuts a long BlockStored into pieces chained by parent, each within the budget', () => {
    const perBlock = 32 + 5 * 2;
    const chunks = splitEvents(events, 2, 3 * perBlock);
    expect(chunks.length).toBeGreaterThan(3);
    const stored = chunks.flat().filter((e) => e.type === 'stored');
    expect(stored.map((e) => e.blocks.length).every((n) => n <= 3)).toBe(true);
    expect(stored.flatMap((e) => e.blocks)).toEqual(blocks);
    expect(stored.flatMap((e) => e.tokens)).toEqual(tokens);
    expect(stored.map((e) => e.parent)).toEqual(['p', 'h2', 'h5', 'h8']);
    expect(chunks.flat().filter((e) => e.type === 'removed').flatMap((e) => e.blocks)).toEqual(['x', 'y', 'z']);
    expect(chunks.flat()[0]).toEqual({ type: 'cleared' });
  });
});

describe('kv event relay - replay', () => {
  it('clears when the replay cannot cover the gap (its buffer lost the oldest missing batch)', async () => {
    const { MemoryBus } = await import('../../transport/memory/memory-transport.js');
    const { silentLogger } = await import('../../observability/logger.js');
    const { bindPublisher } = await import('../../kv-events/zmq-pub.js');
    const { bindReplayServer } = await import('../../kv-events/replay.js');
    const { encodeEventBatch, seqBytes } = await import('../../kv-events/vllm-events.js');
    const { subjects } = await import('../../transport/subjects.js');
    const { startKvEventRelay } = await import('./kv-event-relay.js');
    const bus = new MemoryBus();
    const seen: unknown[] = [];
    bus.connect('observer').subscribe(subjects.kvEventsOf('c'), (m) => void seen.push(m.body));
    const pub = await bindPublisher();
    const replay = await bindReplayServer({ capacity: 1 });
    const relay = startKvEventRelay({
      source: { endpoint: `tcp://127.0.0.1:${pub.port}`, topic: '', format: 'vllm', replayEndpoint: `tcp://127.0.0.1:${replay.port}` },
      transport: bus.connect('w'), cluster: 'c', workerId: 'w', model: 'm', log: silentLogger(),
    });
    try {
      const until = async (check: () => boolean): Promise<void> => {
        for (const end = Date.now() + 3000; !check();) {
          if (Date.now() > end) throw new Error('timed out');
          await new Promise((r) => setTimeout(r, 5));
        }
      };
      await until(() => pub.subscribed === 1 && seen.length === 1);
      const batch = (hash: bigint): Uint8Array => encodeEventBatch(1, [{ type: 'BlockRemoved', blockHashes: [hash] }]);
      const send = (seq: bigint, record = true): void => {
        if (record) replay.record(seq, batch(seq));
        pub.send([Buffer.from('t'), seqBytes(seq), batch(seq)]);
      };
      send(0n);
      replay.record(1n, batch(1n)); // lost, then pushed out of the one-batch replay buffer
      replay.record(2n, batch(2n)); // lost, still replayable
      send(3n);
      await until(() => relay.stats().gaps === 1 && seen.length === 3);
      expect(seen.map((b) => (b as { events: unknown[] }).events)).toEqual([
        [{ type: 'cleared' }],
        [{ type: 'removed', blocks: ['0'] }],
        [{ type: 'cleared' }, { type: 'removed', blocks: ['3'] }],
      ]);
      expect(relay.stats()).toMatchObject({ gaps: 1, replayed: 0 });
    } finally {
      relay.close();
      await pub.close();
      await replay.close();
    }
  });
});
