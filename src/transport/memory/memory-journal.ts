/**
 * An in-memory Journal for unit tests of one actor: entries per key in append order, bounded by age
 * and bytes like the JetStream one (oldest first, counted as the memory store counts a message:
 * subject + body + 16), and delivered asynchronously like a network would.
 */
import { decode, encode } from '../codec.js';
import { encodeSegment } from '../subjects.js';
import type { Journal, JournalOptions, Subscription } from '../transport.js';

interface Stored {
  subject: string;
  raw: Uint8Array;
  time: number;
  bytes: number;
}

interface Follower {
  subject: string;
  onEntry: (body: unknown) => void;
  active: boolean;
}

export class MemoryJournal implements Journal {
  readonly #entries: Stored[] = [];
  readonly #followers = new Set<Follower>();
  #bytes = 0;

  /** Replaced by a later opener with other limits, as the NATS journal updates its stream. */
  constructor(public options: JournalOptions) {}

  /** Bytes held now (after dropping what is past its age). */
  get bytes(): number {
    this.#expire(Date.now());
    return this.#bytes;
  }

  async append(key: string, body: unknown): Promise<void> {
    const now = Date.now();
    const subject = this.#subject(key);
    const raw = encode(body);
    const stored: Stored = { subject, raw, time: now, bytes: subject.length + raw.length + 16 };
    this.#entries.push(stored);
    this.#bytes += stored.bytes;
    this.#expire(now);
    for (const f of this.#followers) if (f.subject === subject) this.#deliver(f, stored);
  }

  async follow(key: string, onEntry: (body: unknown) => void): Promise<Subscription> {
    this.#expire(Date.now());
    const follower: Follower = { subject: this.#subject(key), onEntry, active: true };
    for (const stored of this.#entries) if (stored.subject === follower.subject) this.#deliver(follower, stored);
    this.#followers.add(follower);
    return {
      unsubscribe: () => {
        follower.active = false;
        this.#followers.delete(follower);
      },
    };
  }

  #subject(key: string): string {
    return `${this.options.subjectPrefix}.${encodeSegment(key)}`;
  }

  #deliver(follower: Follower, stored: Stored): void {
    queueMicrotask(() => {
      if (follower.active) follower.onEntry(decode(stored.raw));
    });
  }

  #expire(now: number): void {
    for (;;) {
      const oldest = this.#entries[0];
      if (!oldest || (now - oldest.time <= this.options.maxAgeMs && this.#bytes <= this.options.maxBytes)) return;
      this.#entries.shift();
      this.#bytes -= oldest.bytes;
    }
  }
}
