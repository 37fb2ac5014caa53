/**
 * An in-memory Transport for unit tests of one actor: same semantics as core NATS for what llmux
 * uses (wildcards, queue groups, reply subjects, "no responders" for requests nobody hears),
 * delivered asynchronously like a network would. Never proof that the system works: integration
 * tests use a real nats-server.
 */
import { randomUUID } from 'node:crypto';
import { decode, encode } from '../codec.js';
import { subjectMatches } from '../subject-match.js';
import { defaultMaxPayload } from '../transport.js';
import type {
  DurableStream,
  DurableStreamOptions,
  Inbound,
  InboundHandler,
  Journal,
  JournalOptions,
  KvStore,
  PublishOptions,
  SubscribeOptions,
  Subscription,
  Transport,
} from '../transport.js';
import { MemoryDurableStream } from './memory-durable-stream.js';
import { MemoryJournal } from './memory-journal.js';
import { MemoryKvStore } from './memory-kv-store.js';

interface Sub {
  pattern: string;
  queue: string | undefined;
  handler: InboundHandler;
}

/** The shared "server": connect several MemoryTransports to one bus. */
export class MemoryBus {
  /** Reported as every connection's maxPayload(); not enforced. */
  constructor(readonly maxPayload = defaultMaxPayload) {}

  readonly subs = new Set<Sub>();
  readonly buckets = new Map<string, MemoryKvStore>();
  readonly streams = new Map<string, MemoryDurableStream>();
  readonly journals = new Map<string, MemoryJournal>();

  connect(name: string): MemoryTransport {
    return new MemoryTransport(this, name);
  }

  deliver(subject: string, raw: Uint8Array, options: PublishOptions): void {
    const matching = [...this.subs].filter((s) => subjectMatches(s.pattern, subject));
    if (matching.length === 0) {
      if (options.reply) this.#noResponders(options.reply);
      return;
    }
    const chosen: Sub[] = [];
    const groups = new Map<string, Sub[]>();
    for (const s of matching) {
      if (s.queue === undefined) chosen.push(s);
      else groups.set(s.queue, [...(groups.get(s.queue) ?? []), s]);
    }
    for (const members of groups.values()) chosen.push(members[Math.floor(Math.random() * members.length)] as Sub);
    for (const s of chosen) {
      const message: Inbound = {
        subject,
        reply: options.reply,
        headers: { ...options.headers },
        body: decode(raw),
        noResponders: false,
        raw,
      };
      queueMicrotask(() => {
        if (this.subs.has(s)) s.handler(message);
      });
    }
  }

  #noResponders(reply: string): void {
    for (const s of this.subs) {
      if (!subjectMatches(s.pattern, reply)) continue;
      const message: Inbound = { subject: reply, reply: undefined, headers: {}, body: undefined, noResponders: true, raw: new Uint8Array() };
      queueMicrotask(() => s.handler(message));
    }
  }
}

export class MemoryTransport implements Transport {
  readonly #mine = new Set<Sub>();

  constructor(readonly bus: MemoryBus, readonly name: string) {}

  publish(subject: string, body: unknown, options: PublishOptions = {}): void {
    this.bus.deliver(subject, encode(body), options);
  }

  forward(subject: string, message: Inbound): void {
    this.bus.deliver(subject, message.raw, { ...(message.reply ? { reply: message.reply } : {}), headers: message.headers });
  }

  subscribe(subject: string, handler: InboundHandler, options?: SubscribeOptions): Subscription {
    const sub: Sub = { pattern: subject, queue: options?.queue, handler };
    this.bus.subs.add(sub);
    this.#mine.add(sub);
    return {
      unsubscribe: () => {
        this.bus.subs.delete(sub);
        this.#mine.delete(sub);
      },
    };
  }

  newInboxPrefix(): string {
    return `_INBOX.${randomUUID().replaceAll('-', '')}`;
  }

  refusals(): string[] {
    return [];
  }

  connected(): boolean {
    return true;
  }

  maxPayload(): number {
    return this.bus.maxPayload;
  }

  async flush(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
  }

  async durableStream(name: string, options: DurableStreamOptions): Promise<DurableStream> {
    let stream = this.bus.streams.get(name);
    if (!stream) {
      stream = new MemoryDurableStream(options.duplicateWindowMs ?? 120_000);
      this.bus.streams.set(name, stream);
    }
    return stream;
  }

  async durableStreams(prefix: string): Promise<Map<string, DurableStream>> {
    return new Map([...this.bus.streams].filter(([name]) => name.startsWith(prefix)));
  }

  serverCluster(): string | undefined {
    return undefined;
  }

  /** Like the NATS one: created when missing; a later opener's limits replace the earlier ones. */
  async journal(name: string, options: JournalOptions): Promise<Journal> {
    let journal = this.bus.journals.get(name);
    if (!journal) {
      journal = new MemoryJournal(options);
      this.bus.journals.set(name, journal);
    } else {
      journal.options = options;
    }
    return journal;
  }

  async keyValue(bucket: string): Promise<KvStore> {
    let store = this.bus.buckets.get(bucket);
    if (!store) {
      store = new MemoryKvStore();
      this.bus.buckets.set(bucket, store);
    }
    return store;
  }

  async close(): Promise<void> {
    for (const s of this.#mine) this.bus.subs.delete(s);
    this.#mine.clear();
  }
}
