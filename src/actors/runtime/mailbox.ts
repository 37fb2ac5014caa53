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
      this.#head++;
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
    const m = this.#items[this.#head++];
    // Compact now and then so the array does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return m;
  }
}
