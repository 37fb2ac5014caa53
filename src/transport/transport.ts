/**
 * The Transport: how actors reach each other. Core publish/subscribe with reply subjects and
 * headers, plus a key-value store for the control plane. Two implementations: NATS
 * (src/transport/nats/, the only code that imports @nats-io) and in-memory (unit tests of one actor).
 * Bodies are plain data, encoded with msgpackr by the transport (src/transport/codec.ts).
 */
/** nats-server's `max_payload` unless its configuration says otherwise: 1 MiB. */
export const defaultMaxPayload = 1024 * 1024;

export interface MessageHeaders {
  requestId?: string;
  /** Epoch milliseconds after which nobody waits for an answer. */
  deadline?: number;
  /** W3C trace context. */
  traceparent?: string;
  /** Set by the router on a forwarded request: the routing method that chose the worker. */
  routingMethod?: string;
  /** Set by the router on a forwarded request: the prompt tokens it expects the engine to prefill (not cached there). */
  prefillTokens?: number;
  /** Hop timestamps, only on a timed request (src/observability/hop-timing.ts). */
  hops?: string;
}

export interface Inbound {
  subject: string;
  reply: string | undefined;
  headers: MessageHeaders;
  /** The decoded body; validate it against the receiving protocol before use. */
  body: unknown;
  /** Set when the message is the server's "no responders" status for a request sent to `reply`. */
  noResponders: boolean;
  /** The encoded body as received, for forwarding without re-encoding. */
  raw: Uint8Array;
}

export interface PublishOptions {
  reply?: string;
  headers?: MessageHeaders;
}

export type InboundHandler = (message: Inbound) => void;

export interface Subscription {
  unsubscribe(): void;
}

export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group. */
  queue?: string;
}

export interface KvEntry {
  key: string;
  /** Undefined when the key was deleted. */
  value: unknown;
  revision: number;
}

export interface KvStore {
  get(key: string): Promise<KvEntry | undefined>;
  put(key: string, value: unknown): Promise<number>;
  delete(key: string): Promise<void>;
  keys(prefix?: string): Promise<string[]>;
  /**
   * Calls `onEntry` for the current value of every key under `prefix` and then for every change,
   * until the returned handle is stopped. Resolves once the current values have been delivered.
   */
  watch(prefix: string, onEntry: (entry: KvEntry) => void): Promise<Subscription>;
}

/**
 * The server could not be reached for a KV operation in time, or JetStream had no leader to take it
 * (a partition, a restart): the operation may succeed later. Other failures are thrown as they are.
 */
export class TransportUnavailableError extends Error {
  override readonly name = 'TransportUnavailableError';
}

export interface KvBucketOptions {
  /** Values kept per key. */
  history?: number;
  /** Whole-bucket max age in ms (per-key TTL is not honoured by nats-server 2.9). */
  maxAgeMs?: number;
  /** In a supercluster: the NATS cluster that holds the bucket (its writes' one home), when it is created. */
  placementCluster?: string;
}

export interface DurableStreamOptions {
  subjects: string[];
  /** Messages older than this are removed (none by default). */
  maxAgeMs?: number;
  /** Appends with a message id seen within this window are dropped as repeats. Default 2 minutes. */
  duplicateWindowMs?: number;
  /** In a supercluster: the NATS cluster that holds the stream, when it is created. */
  placementCluster?: string;
}

export interface StoredMessage {
  subject: string;
  body: unknown;
  /** When the server stored it, epoch ms. */
  time: number;
}

/** An append-only, persisted stream (JetStream, file storage) with de-duplication by message id. */
export interface DurableStream {
  /** Resolves once stored; `duplicate` when the id was already stored within the window. */
  append(subject: string, body: unknown, msgId: string): Promise<{ duplicate: boolean }>;
  /** Every message stored from `since` (epoch ms) to the end of the stream as of the call, oldest first. */
  read(since?: number): AsyncIterable<StoredMessage>;
}

export interface JournalOptions {
  /** Every entry under `subjectPrefix.<key>`. */
  subjectPrefix: string;
  /** Entries older than this are removed. */
  maxAgeMs: number;
  /** The journal holds at most this many bytes; the oldest entries go first. */
  maxBytes: number;
}

/**
 * A bounded, replayable log of entries per key (JetStream, memory storage): a stream's SSE events,
 * so a client that lost its connection can read the rest from any gateway.
 */
export interface Journal {
  /** Appends one entry under `key`, after every entry appended before it. Resolves once stored. */
  append(key: string, body: unknown): Promise<void>;
  /**
   * Calls `onEntry` with every entry under `key`, oldest first, then with each new one as it is
   * appended, until the handle is stopped. Resolves once following has begun.
   */
  follow(key: string, onEntry: (body: unknown) => void): Promise<Subscription>;
}

export interface Transport {
  /** A name for logs: which process/role this connection belongs to. */
  readonly name: string;
  publish(subject: string, body: unknown, options?: PublishOptions): void;
  /** Re-publishes a received message, bytes and headers untouched, to another subject, keeping its reply subject. */
  forward(subject: string, message: Inbound): void;
  subscribe(subject: string, handler: InboundHandler, options?: SubscribeOptions): Subscription;
  /** A fresh, unique inbox prefix; subscribe to `${prefix}.*` and use `${prefix}.<token>` as reply subjects. */
  newInboxPrefix(): string;
  /** Resolves when everything published so far has reached the server. */
  flush(): Promise<void>;
  /** Whether the connection to the server is up right now (false while reconnecting or closed). */
  connected(): boolean;
  /** What the server refused this connection so far (permission violations), newest last. */
  refusals(): string[];
  /**
   * The most bytes one message may hold, body and headers together: the connected server's
   * `max_payload`. Publishing more throws.
   */
  maxPayload(): number;
  keyValue(bucket: string, options?: KvBucketOptions): Promise<KvStore>;
  /** Opens (creating when missing) a durable stream. */
  durableStream(name: string, options: DurableStreamOptions): Promise<DurableStream>;
  /** The durable streams that exist whose names start with `prefix` (none are created), by name. */
  durableStreams(prefix: string): Promise<Map<string, DurableStream>>;
  /** The NATS cluster of the server this connection is on, when it is in one (a supercluster's member). */
  serverCluster(): string | undefined;
  /** Opens (creating when missing) a journal. */
  journal(name: string, options: JournalOptions): Promise<Journal>;
  /** Drains subscriptions and closes. Safe to call twice. */
  close(): Promise<void>;
}
