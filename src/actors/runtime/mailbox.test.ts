// The mailbox keeps no reference to a message once it is taken (or dropped as the oldest): before,
// the last ~1,024 messages of every actor stayed reachable until a compaction, so each request's
// objects outlived two scavenges and were promoted. A real garbage collection tells.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Mailbox, Overflow } from './mailbox.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Whether `target` was collected: WeakRef targets live to the end of the current job, so collect in the next. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  await new Promise((r) => setImmediate(r));
  gc();
  return ref.deref() === undefined;
}

describe('mailbox', () => {
  it('lets a taken message be collected, whether the mailbox then is empty or not', async () => {
    const box = new Mailbox<object>({ capacity: 10_000, overflow: Overflow.reject });
    let refs: WeakRef<object>[] = [];
    const offer = (): void => {
      const message = { payload: new Uint8Array(1024) };
      refs.push(new WeakRef(message));
      box.offer(message);
    };
    // A mailbox that empties after every message, as an idle actor's does.
    for (let i = 0; i < 100; i++) {
      offer();
      expect(box.take()).toBeDefined();
    }
    expect(await Promise.all(refs.map(collected))).not.toContain(false);
    // One that holds a backlog: the taken half goes, the queued half stays.
    refs = [];
    for (let i = 0; i < 100; i++) offer();
    for (let i = 0; i < 50; i++) box.take();
    const states = await Promise.all(refs.map(collected));
    expect(states.slice(0, 50)).not.toContain(false);
    expect(states.slice(50)).not.toContain(true);
    expect(box.size).toBe(50);
  });

  it('lets the oldest message go when it is dropped for a newer one', async () => {
    const box = new Mailbox<object>({ capacity: 1, overflow: Overflow.dropOldest });
    const ref = ((): WeakRef<object> => {
      const first = { n: 1 };
      box.offer(first);
      return new WeakRef(first);
    })();
    box.offer({ n: 2 });
    expect(box.dropped).toBe(1);
    expect(await collected(ref)).toBe(true);
    expect(box.take()).toEqual({ n: 2 });
  });

  it('keeps order across emptying and compaction', () => {
    const box = new Mailbox<number>({ capacity: 5_000, overflow: Overflow.reject });
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3_000; i++) box.offer(next++);
      for (let i = 0; i < 2_000; i++) out.push(box.take() as number);
    }
    while (box.size > 0) out.push(box.take() as number);
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(box.take()).toBeUndefined();
  });
});
