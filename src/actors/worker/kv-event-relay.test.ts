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
