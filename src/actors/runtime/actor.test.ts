import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Failure, spawn } from './actor.js';
import { Mailbox, Overflow } from './mailbox.js';
import { backoffDelay, restartOnFailure, resumeOnFailure, stopOnFailure, type Supervision } from './supervision.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
/** Lets queued microtasks and promise callbacks run, without moving any clock. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

type Msg = { type: 'add'; n: number } | { type: 'boom' } | { type: 'reject' };

/** A counter actor whose state (`total`) is built by the factory, so a restart resets it and a resume keeps it. */
function counter(supervision: Supervision) {
  const created: number[] = [];
  const stopped: number[] = [];
  const seen: string[] = [];
  const failures: Array<{ error: unknown; failure: Failure }> = [];
  const ref = spawn<Msg>('counter', ({ restarts }) => {
    created.push(restarts);
    let total = 0;
    return {
      async receive(m) {
        if (m.type === 'boom') throw new Error('boom');
        if (m.type === 'reject') return Promise.reject(new Error('rejected'));
        total += m.n;
        seen.push(`${restarts}:${total}`);
      },
      stop() {
        stopped.push(restarts);
      },
    };
  }, { supervision, onFailure: (error, failure) => failures.push({ error, failure }) });
  return { ref, created, stopped, seen, failures };
}

describe('actor runtime', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('processes messages one at a time in order', async () => {
    const seen: number[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    const ref = spawn<number>('ordered', () => ({
      async receive(n) {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await tick();
        seen.push(n);
        concurrent--;
      },
    }), { supervision: resumeOnFailure });
    for (let i = 0; i < 20; i++) ref.tell(i);
    await vi.waitFor(() => expect(seen).toHaveLength(20));
    expect(seen).toEqual([...Array(20).keys()]);
    expect(maxConcurrent).toBe(1);
  });

  it('refuses messages beyond a bounded mailbox with the reject policy', () => {
    const ref = spawn<number>('bounded', () => ({ receive() {} }), { supervision: resumeOnFailure, mailbox: { capacity: 3, overflow: Overflow.reject } });
    const accepted = [1, 2, 3, 4, 5].map((n) => ref.tell(n));
    expect(accepted).toEqual([true, true, true, false, false]);
    expect(ref.stats.overflowed).toBe(2);
  });

  it('drops the oldest message with the drop-oldest policy', () => {
    const box = new Mailbox<number>({ capacity: 2, overflow: Overflow.dropOldest });
    [1, 2, 3].forEach((n) => box.offer(n));
    expect([box.take(), box.take(), box.take()]).toEqual([2, 3, undefined]);
    expect(box.dropped).toBe(1);
  });

  for (const [name, supervision] of [['resume', resumeOnFailure], ['restart', restartOnFailure()]] as const) {
    it(`${name} - a throwing message does not delay the messages behind it`, async () => {
      vi.useFakeTimers();
      const { ref, seen, failures } = counter(supervision);
      ref.tell({ type: 'add', n: 1 });
      ref.tell({ type: 'boom' });
      ref.tell({ type: 'add', n: 1 });
      ref.tell({ type: 'reject' });
      ref.tell({ type: 'add', n: 1 });
      // No timer may run: the clock stands still, so anything behind a backoff would not be handled.
      await settle();
      expect(seen).toHaveLength(3);
      expect(vi.getTimerCount()).toBe(0);
      expect(ref.stats.failures).toBe(2);
      expect(failures.map((f) => f.failure.messageType)).toEqual(['boom', 'reject']);
      expect(failures.map((f) => f.failure.directive)).toEqual([name, name]);
      expect(failures.map((f) => f.failure.failures)).toEqual([1, 2]);
    });
  }

  it('resume - keeps the behaviour and its state, and never calls the factory again', async () => {
    vi.useFakeTimers();
    const { ref, created, stopped, seen } = counter(resumeOnFailure);
    ref.tell({ type: 'add', n: 1 });
    ref.tell({ type: 'boom' });
    ref.tell({ type: 'add', n: 2 });
    await settle();
    await vi.advanceTimersByTimeAsync(10_000); // past any backoff: what is checked here is the state
    expect(seen).toEqual(['0:1', '0:3']);
    expect(created).toEqual([0]);
    expect(stopped).toEqual([]);
    expect(ref.stats.restarts).toBe(0);
  });

  it('restart - rebuilds the state from the factory at once, after stopping the old behaviour', async () => {
    // This replaces "restarts a failing behaviour with fresh state after a backoff, keeping queued
    // messages": the queued message now runs on the fresh behaviour at once, with no backoff.
    vi.useFakeTimers();
    const { ref, created, stopped, seen, failures } = counter(restartOnFailure({ minBackoffMs: 300 }));
    ref.tell({ type: 'add', n: 1 });
    ref.tell({ type: 'add', n: 1 });
    ref.tell({ type: 'boom' });
    ref.tell({ type: 'add', n: 5 });
    await settle();
    expect(seen).toEqual(['0:1', '0:2', '1:5']);
    expect(created).toEqual([0, 1]);
    expect(stopped).toEqual([0]);
    expect(ref.stats).toMatchObject({ failures: 1, restarts: 1, rejected: 0 });
    expect(failures[0]?.failure).toEqual({ messageType: 'boom', directive: 'restart', failures: 1, restarts: 0 });
  });

  it('restart - a factory that keeps throwing backs off, refusing messages meanwhile, then starts again', async () => {
    vi.useFakeTimers();
    let starts = 0;
    const seen: string[] = [];
    const failures: Failure[] = [];
    const ref = spawn<Msg>('broken-start', ({ restarts }) => {
      if (++starts === 2 || starts === 3) throw new Error('cannot start');
      return {
        receive(m) {
          if (m.type === 'boom') throw new Error('boom');
          seen.push(`${restarts}:${m.type}`);
        },
      };
    }, { supervision: restartOnFailure({ minBackoffMs: 100, maxBackoffMs: 1000, jitter: 0 }), onFailure: (_e, f) => failures.push(f) });
    ref.tell({ type: 'boom' });
    ref.tell({ type: 'add', n: 1 }); // queued behind the failure: discarded, not kept waiting
    await settle();
    expect(seen).toEqual([]);
    expect(ref.tell({ type: 'add', n: 2 })).toBe(false);
    expect(ref.stats.rejected).toBe(2);
    await vi.advanceTimersByTimeAsync(100); // the second start fails too: the next wait is 200 ms
    expect(ref.tell({ type: 'add', n: 3 })).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(ref.tell({ type: 'add', n: 4 })).toBe(true);
    await settle();
    expect(seen).toEqual(['1:add']);
    expect(failures.map((f) => [f.messageType, f.directive])).toEqual([['boom', 'restart'], [undefined, 'restart'], [undefined, 'restart']]);
    expect(ref.stats).toMatchObject({ failures: 3, restarts: 1, rejected: 3 });
  });

  it('stop - stops for good, stopping the behaviour and refusing queued and later messages', async () => {
    const seen: string[] = [];
    let stopped = 0;
    const failures: Failure[] = [];
    const ref = spawn<Msg>('fragile', () => ({
      receive(m) {
        if (m.type === 'boom') throw new Error('boom');
        seen.push(m.type);
      },
      stop() {
        stopped++;
      },
    }), { supervision: stopOnFailure, onFailure: (_e, f) => failures.push(f) });
    ref.tell({ type: 'boom' });
    ref.tell({ type: 'add', n: 1 });
    await tick(5);
    expect(ref.tell({ type: 'add', n: 2 })).toBe(false);
    expect(seen).toEqual([]);
    expect(stopped).toBe(1);
    expect(failures).toEqual([{ messageType: 'boom', directive: 'stop', failures: 1, restarts: 0 }]);
    expect(ref.stats).toMatchObject({ failures: 1, rejected: 2 });
  });

  it('an onFailure that throws does not take the actor down', async () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const ref = spawn<Msg>('bad-logger', () => ({
      receive(m) {
        if (m.type === 'boom') throw new Error('boom');
        seen.push(m.type);
      },
    }), { supervision: resumeOnFailure, onFailure: () => { throw new Error('logger broke'); } });
    ref.tell({ type: 'boom' });
    ref.tell({ type: 'add', n: 1 });
    await settle();
    expect(seen).toEqual(['add']);
  });

  it('doubles the start backoff up to the maximum, with bounded jitter', () => {
    const backoff = { minBackoffMs: 100, maxBackoffMs: 1000, jitter: 0.2 };
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(backoff, a, 0.5))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(backoff, 0, 0)).toBe(80);
    expect(backoffDelay(backoff, 0, 0.999999)).toBe(120);
  });
});
