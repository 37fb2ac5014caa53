// The simulator's batch slots: capacity, FIFO hand-over, and leaving the queue on abort.
import { describe, expect, it } from 'vitest';
import { type Release, Scheduler } from './scheduler.js';

const never = new AbortController().signal;

describe('sim scheduler', () => {
  it('grants slots up to capacity and queues the rest in arrival order', async () => {
    const scheduler = new Scheduler(1);
    const first = await scheduler.acquire(never);
    const order: string[] = [];
    const second = scheduler.acquire(never).then((r) => (order.push('second'), r));
    const third = scheduler.acquire(never).then((r) => (order.push('third'), r));
    expect([scheduler.running, scheduler.waiting]).toEqual([1, 2]);
    first?.();
    (await second)?.();
    (await third)?.();
    expect(order).toEqual(['second', 'third']);
    expect([scheduler.running, scheduler.waiting]).toEqual([0, 0]);
  });

  it('drops a waiter whose signal aborts, without giving it a slot', async () => {
    const scheduler = new Scheduler(1);
    const held = await scheduler.acquire(never);
    const controller = new AbortController();
    const waiting = scheduler.acquire(controller.signal);
    controller.abort();
    expect(await waiting).toBeUndefined();
    expect([scheduler.running, scheduler.waiting]).toEqual([1, 0]);
    held?.();
    expect(scheduler.running).toBe(0);
  });

  it('ignores a second release of the same slot', async () => {
    const scheduler = new Scheduler(2);
    const a = (await scheduler.acquire(never)) as Release;
    await scheduler.acquire(never);
    a();
    a();
    expect(scheduler.running).toBe(1);
  });
});
