import { describe, expect, it, vi } from 'vitest';
import { spawn } from './actor.js';
import { Mailbox, Overflow } from './mailbox.js';
import { backoffDelay, restartWithBackoff, stopOnFailure } from './supervision.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('actor runtime', () => {
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
    }));
    for (let i = 0; i < 20; i++) ref.tell(i);
    await vi.waitFor(() => expect(seen).toHaveLength(20));
    expect(seen).toEqual([...Array(20).keys()]);
    expect(maxConcurrent).toBe(1);
  });

  it('refuses messages beyond a bounded mailbox with the reject policy', () => {
    const ref = spawn<number>('bounded', () => ({ receive() {} }), { mailbox: { capacity: 3, overflow: Overflow.reject } });
    const accepted = [1, 2, 3, 4, 5].map((n) => ref.tell(n));
    expect(accepted).toEqual([true, true, true, false, false]);
  });

  it('drops the oldest message with the drop-oldest policy', () => {
    const box = new Mailbox<number>({ capacity: 2, overflow: Overflow.dropOldest });
    [1, 2, 3].forEach((n) => box.offer(n));
    expect([box.take(), box.take(), box.take()]).toEqual([2, 3, undefined]);
    expect(box.dropped).toBe(1);
  });

  it('restarts a failing behaviour with fresh state after a backoff, keeping queued messages', async () => {
    const created: number[] = [];
    const handled: string[] = [];
    const failures: number[] = [];
    const ref = spawn<string>('flaky', ({ restarts }) => {
      created.push(restarts);
      return {
        receive(m) {
          if (m === 'boom') throw new Error('boom');
          handled.push(`${restarts}:${m}`);
        },
      };
    }, { supervision: restartWithBackoff(300, 1000, 0), onFailure: (_e, n) => failures.push(n) });
    ref.tell('a');
    ref.tell('boom');
    ref.tell('b');
    await tick(5);
    // 'b' waits in the mailbox through the backoff
    expect(handled).toEqual(['0:a']);
    await vi.waitFor(() => expect(handled).toHaveLength(2), { timeout: 3000 });
    expect(created).toEqual([0, 1]);
    expect(handled).toEqual(['0:a', '1:b']);
    expect(failures).toEqual([0]);
  });

  it('stops for good under the stop policy', async () => {
    const ref = spawn<string>('fragile', () => ({
      receive(m) {
        if (m === 'boom') throw new Error('boom');
      },
    }), { supervision: stopOnFailure });
    ref.tell('boom');
    await tick(5);
    expect(ref.tell('after')).toBe(false);
  });

  it('doubles the backoff up to the maximum, with bounded jitter', () => {
    const policy = restartWithBackoff(100, 1000, 0.2) as Extract<ReturnType<typeof restartWithBackoff>, { type: 'restart-with-backoff' }>;
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(policy, a, 0.5))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(policy, 0, 0)).toBe(80);
    expect(backoffDelay(policy, 0, 0.999999)).toBe(120);
  });
});
