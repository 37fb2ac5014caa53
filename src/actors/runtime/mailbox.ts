/** A bounded FIFO mailbox with a stated overflow policy. */
export const Overflow = {
  /** Refuse the new message (`tell` returns false): the sender learns at once. */
  reject: 'reject',
  /** Drop the oldest queued message to make room (for state snapshots where newer wins). */
  dropOldest: 'drop-oldest',
} as const;
export type Overflow = (typeof Overflow)[keyof typeof Overflow];

export interface MailboxOptions {
  capacity: number;
  overflow: Overflow;
}

export class Mailbox<M> {
  #items: M[] = [];
  #head = 0;
  dropped = 0;

  constructor(readonly options: MailboxOptions) {
    if (!(options.capacity >= 1)) throw new RangeError('mailbox capacity must be at least 1');
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Returns false when the message was refused. */
  offer(message: M): boolean {
    if (this.size >= this.options.capacity) {
      this.dropped++;
      if (this.options.overflow === Overflow.reject) return false;
      (this.#items as Array<M | undefined>)[this.#head++] = undefined;
    }
    this.#items.push(message);
    return true;
  }

  /** Discards every queued message; returns how many there were. */
  clear(): number {
    const n = this.size;
    this.#items = [];
    this.#head = 0;
    return n;
  }

  take(): M | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const m = this.#items[this.#head] as M;
    // A taken message is the actor's alone: the mailbox keeps no reference to it. Kept until a
    // compaction, the last ~1,024 messages of every actor (sessions, frames, request bodies of up to
    // a MiB) lived on for seconds, so the garbage collector promoted each request's objects to the
    // old generation and copied ~16 KB a request in 4–9 ms scavenges (docs/benchmarks.md, "Garbage collection at a fixed rate").
    (this.#items as Array<M | undefined>)[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      // Empty: start over rather than grow.
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      // Compact now and then so a mailbox that never empties does not grow without bound.
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return m;
  }
}
