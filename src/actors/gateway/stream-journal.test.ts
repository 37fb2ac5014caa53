import { afterEach, describe, expect, it, vi } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../observability/logger.js';
import type { Principal } from '../../policy/principal.js';
import { MemoryBus } from '../../transport/memory/memory-transport.js';
import type { Journal, Subscription } from '../../transport/transport.js';
import { isStreamId, type JournalEntry, JournalWriter, newStreamId, ownerOf, parseJournalEntry, parseSseId, sseId } from './stream-journal.js';

const principal = (tenant: string, keyId: string): Principal => ({ tenant, keyId, functions: ['*'], via: 'api-key' });

/** A journal that records each append's start and end, resolving after `delayMs(n)` (or failing when it says so). */
function recordingJournal(delayMs: (n: number) => number | 'fail' | 'throw' | 'hang') {
  const log: string[] = [];
  const stored: unknown[] = [];
  let inFlight = 0;
  let n = 0;
  const journal: Journal = {
    append(_key, body) {
      const mine = n++;
      const how = delayMs(mine);
      if (how === 'throw') throw new Error('synchronous failure');
      if (inFlight > 0) log.push(`overlap at ${mine}`);
      inFlight++;
      log.push(`start ${mine}`);
      if (how === 'hang') return new Promise<void>(() => undefined);
      return sleep(how === 'fail' ? 1 : how).then(() => {
        inFlight--;
        log.push(`end ${mine}`);
        if (how === 'fail') throw new Error('journal unavailable');
        stored.push(body);
      });
    },
    follow: (): Promise<Subscription> => Promise.reject(new Error('not used')),
  };
  return { journal, log, stored };
}

const writers: JournalWriter[] = [];
afterEach(() => {
  for (const w of writers.splice(0)) w.end();
});

function writer(journal: Journal, options?: { aliveEveryMs?: number; maxQueued?: number }) {
  const log = silentLogger();
  const warn = vi.spyOn(log, 'warn');
  const w = new JournalWriter(journal, 'stream-1', 'owner-1', log, options);
  writers.push(w);
  return { w, warn };
}

describe('stream journal entries', () => {
  it('accepts each entry type and rejects malformed ones', () => {
    const good: JournalEntry[] = [
      { type: 'open', owner: 'o', requestId: 'r', created: 1 },
      { type: 'event', id: 3, text: 'data: {}\n\n' },
      { type: 'alive' },
      { type: 'end' },
    ];
    for (const entry of good) expect(parseJournalEntry(structuredClone(entry))).toEqual(entry);
    expect(parseJournalEntry({ type: 'event', id: 1, text: 'x', extra: 'dropped' })).toEqual({ type: 'event', id: 1, text: 'x' });
    for (const bad of [undefined, null, 'end', [], { type: 'nope' }, { type: 'open', owner: 'o', requestId: 'r' }, { type: 'open', owner: 1, requestId: 'r', created: 1 },
      { type: 'event', id: 1.5, text: 'x' }, { type: 'event', id: '1', text: 'x' }, { type: 'event', id: 1 }]) {
      expect(parseJournalEntry(bad)).toBeUndefined();
    }
  });

  it('names an owner by a hash of tenant and key id, never the raw values', () => {
    const a = ownerOf(principal('acme', 'key-1'));
    expect(a).toBe(ownerOf({ ...principal('acme', 'key-1'), functions: ['other'] }));
    expect(a).not.toBe(ownerOf(principal('acme', 'key-2')));
    expect(a).not.toBe(ownerOf(principal('other', 'key-1')));
    expect(ownerOf(principal('a', 'b:c'))).not.toBe(ownerOf(principal('a:b', 'c')));
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toContain('key-1');
  });

  it('makes unguessable stream ids and reads back the SSE ids made from them', () => {
    const ids = new Set(Array.from({ length: 1000 }, newStreamId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(isStreamId(id)).toBe(true);
    const s = newStreamId();
    expect(parseSseId(sseId(s, 0))).toEqual({ streamId: s, id: 0 });
    expect(parseSseId(sseId(s, 1234))).toEqual({ streamId: s, id: 1234 });
    for (const bad of ['', '12', `${s}`, `${s}.`, `${s}.-1`, `${s}.01`, `${s}.1.2`, `${s}.1e3`, `${s}x.1`, `${s.slice(1)}.1`, `${s}.99999999999999999`]) {
      expect(parseSseId(bad)).toBeUndefined();
    }
  });
});

describe('journal writer', () => {
  it('appends in order, each after the previous one resolved', async () => {
    const { journal, log, stored } = recordingJournal((n) => (n * 7) % 5);
    const { w } = writer(journal);
    w.open('req-1');
    for (let i = 1; i <= 20; i++) w.event(i, `data: ${i}\n\n`);
    w.end();
    w.event(21, 'after the end is ignored');
    await w.settled();
    expect(log.filter((l) => l.startsWith('overlap'))).toEqual([]);
    expect(stored.map((e) => (e as JournalEntry).type)).toEqual(['open', ...Array<string>(20).fill('event'), 'end']);
    expect(stored[0]).toMatchObject({ type: 'open', owner: 'owner-1', requestId: 'req-1' });
    expect(stored.slice(1, -1)).toEqual(Array.from({ length: 20 }, (_, k) => ({ type: 'event', id: k + 1, text: `data: ${k + 1}\n\n` })));
    expect(w.failures).toBe(0);
  });

  it('survives a failing journal: never throws, logs once, counts what was not stored and stops journaling', async () => {
    for (const how of ['fail', 'throw'] as const) {
      const { journal, stored } = recordingJournal((n) => (n === 2 ? how : 0));
      const { w, warn } = writer(journal);
      expect(() => {
        w.open('req-1');
        for (let i = 1; i <= 5; i++) w.event(i, `data: ${i}\n\n`);
      }).not.toThrow();
      await w.settled();
      w.event(6, 'data: 6\n\n');
      w.end();
      await w.settled();
      expect(stored.map((e) => (e as JournalEntry).type)).toEqual(['open', 'event']); // nothing after the gap
      expect(w.failures).toBe(6); // event 2 failed; events 3..6 and the end given up
      expect(warn).toHaveBeenCalledTimes(1);
    }
  });

  it('gives up, without waiting, when the journal falls behind by more than maxQueued entries', async () => {
    const { journal } = recordingJournal(() => 'hang');
    const { w, warn } = writer(journal, { maxQueued: 3 });
    w.open('req-1'); // in flight, never answered
    for (let i = 1; i <= 9; i++) w.event(i, 'data: x\n\n');
    expect(w.failures).toBe(9);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('writes alive while nothing else is written, and stops at the end', async () => {
    const { journal, stored } = recordingJournal(() => 0);
    const { w } = writer(journal, { aliveEveryMs: 40 });
    w.open('req-1');
    await sleep(200);
    const alive = stored.filter((e) => (e as JournalEntry).type === 'alive').length;
    expect(alive).toBeGreaterThanOrEqual(2);
    expect(alive).toBeLessThanOrEqual(6);
    w.end();
    await w.settled();
    const count = stored.length;
    await sleep(120);
    expect(stored).toHaveLength(count);
    expect(stored.at(-1)).toEqual({ type: 'end' });
  });

  it('holds one alive timer from open to end, none after', () => {
    vi.useFakeTimers();
    try {
      const journal: Journal = { append: async () => undefined, follow: () => Promise.reject(new Error('not used')) };
      const { w } = writer(journal, { aliveEveryMs: 40 });
      expect(vi.getTimerCount()).toBe(0);
      w.open('req-1');
      w.open('req-1');
      expect(vi.getTimerCount()).toBe(1);
      w.end();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not write alive while events flow', async () => {
    const { journal, stored } = recordingJournal(() => 0);
    const { w } = writer(journal, { aliveEveryMs: 200 });
    w.open('req-1');
    for (let i = 1; i <= 30; i++) {
      w.event(i, 'data: x\n\n');
      await sleep(10);
    }
    w.end();
    await w.settled();
    expect(stored.filter((e) => (e as JournalEntry).type === 'alive')).toEqual([]);
  });

  it('is read back in order through the memory journal', async () => {
    const journal = await new MemoryBus().connect('t').journal('J', { subjectPrefix: 'j', maxAgeMs: 60_000, maxBytes: 1 << 20 });
    const { w } = writer(journal);
    w.open('req-1');
    for (let i = 1; i <= 3; i++) w.event(i, `data: ${i}\n\n`);
    w.end();
    await w.settled();
    const got: unknown[] = [];
    const sub = await journal.follow('stream-1', (b) => got.push(b));
    await vi.waitFor(() => expect(got).toHaveLength(5));
    expect(got.map((e) => parseJournalEntry(e)?.type)).toEqual(['open', 'event', 'event', 'event', 'end']);
    sub.unsubscribe();
  });
});

describe('memory journal', () => {
  it('keeps keys apart, delivers live, and bounds bytes and age', async () => {
    const journal = await new MemoryBus().connect('t').journal('J', { subjectPrefix: 'j', maxAgeMs: 150, maxBytes: 400 });
    const a: unknown[] = [];
    const b: unknown[] = [];
    await journal.append('a.*', 'early');
    const subA = await journal.follow('a.*', (x) => a.push(x));
    const subB = await journal.follow('a.>', (x) => b.push(x));
    await journal.append('a.*', 'live');
    await journal.append('a.>', 'other');
    await vi.waitFor(() => expect(a).toEqual(['early', 'live']));
    expect(b).toEqual(['other']);
    subA.unsubscribe();
    subB.unsubscribe();
    for (let i = 0; i < 20; i++) await journal.append('k', { i, pad: 'x'.repeat(40) });
    const kept: Array<{ i: number }> = [];
    const subK = await journal.follow('k', (x) => kept.push(x as { i: number }));
    await vi.waitFor(() => expect(kept.at(-1)?.i).toBe(19));
    expect(kept.length).toBeLessThan(20);
    expect(kept.map((e) => e.i)).toEqual(Array.from({ length: kept.length }, (_, k) => 20 - kept.length + k));
    subK.unsubscribe();
    await sleep(200);
    const late: unknown[] = [];
    const subLate = await journal.follow('k', (x) => late.push(x));
    await sleep(20);
    expect(late).toEqual([]);
    subLate.unsubscribe();
  });
});
