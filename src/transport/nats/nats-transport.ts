/**
 * The NATS Transport (@nats-io/transport-node v3). Core NATS for the hot path; JetStream KV for the
 * control plane (nats-kv-store.ts), streams for the usage ledger (nats-durable-stream.ts) and the
 * stream journal (nats-journal.ts).
 */
import { connect } from '@nats-io/transport-node';
import { createInbox, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, nkeyAuthenticator, TimeoutError } from '@nats-io/nats-core';
import { Kvm } from '@nats-io/kv';
import { decode, encode } from '../codec.js';
import { headerNames } from '../headers.js';
import { existingNatsDurableStreams, openNatsDurableStream } from './nats-durable-stream.js';
import { openNatsJournal } from './nats-journal.js';
import type {
  DurableStream,
  DurableStreamOptions,
  Inbound,
  InboundHandler,
  Journal,
  JournalOptions,
  KvBucketOptions,
  KvStore,
  MessageHeaders,
  PublishOptions,
  SubscribeOptions,
  Subscription,
  Transport,
} from '../transport.js';
import { defaultMaxPayload } from '../transport.js';
import { NatsKvStore } from './nats-kv-store.js';

export interface NatsTransportOptions {
  /** nats://host:port, or several separated by commas. */
  servers: string;
  /** Connection name shown by the server (role and id). */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  /** An nkey seed (nats-credentials.ts): connect as that nkey user. */
  nkeySeed?: string;
  /**
   * TLS (`llmux pki`): the CA that signed the servers' certificates, and this process's own
   * certificate and key for servers that verify clients (`verify: true`, as `llmux cluster init` writes).
   */
  tls?: NatsTlsOptions;
  /**
   * How long the first connect may take (the client's default: 20 s). Over TLS 1.3 a server that
   * refuses this client's certificate closes the connection after the handshake, and nats.js reports
   * only this timeout.
   */
  connectTimeoutMs?: number;
  /**
   * What this connection publishes never comes back to its own subscriptions: a router's `routed`
   * events reach the other routers only, not a read and a decode of its own per request.
   */
  noEcho?: boolean;
}

export interface NatsTlsOptions {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

export class NatsTlsConnectError extends Error {
  override readonly name = 'NatsTlsConnectError';
  readonly code = 'nats_tls_connect';
}

export async function connectNats(options: NatsTransportOptions): Promise<NatsTransport> {
  const nc = await connect({
    servers: options.servers.split(',').map((s) => s.trim()),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...(options.user !== undefined ? { user: options.user, pass: options.pass ?? '' } : {}),
    ...(options.token !== undefined ? { token: options.token } : {}),
    ...(options.nkeySeed !== undefined ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(options.nkeySeed)) } : {}),
    // The client reads these files at connect (a missing one fails the connect) and then verifies the
    // server's certificate against the CA and the URL's host: its SANs must name 127.0.0.1 or the host.
    ...(options.tls !== undefined ? { tls: { ...options.tls } } : {}),
    ...(options.connectTimeoutMs !== undefined ? { timeout: options.connectTimeoutMs } : {}),
    ...(options.noEcho ? { noEcho: true } : {}),
  }).catch((error: unknown) => {
    if (options.tls !== undefined && error instanceof TimeoutError) {
      throw new NatsTlsConnectError(`NATS at ${options.servers} did not complete a TLS connect in time: a server that requires client certificates (verify: true) refuses one that is missing ` +
        `or not signed by its CA this way (${options.tls.certFile ? `check that ${options.tls.certFile} was issued by the deployment's CA` : 'no certFile was given'}), or the server did not answer`, { cause: error });
    }
    if (!/Authorization Violation/i.test(String(error))) throw error;
    throw new Error(`NATS at ${options.servers} refused ${options.nkeySeed ? 'this nkey identity' : 'to connect without credentials'} (Authorization Violation): ` +
      'a nats-server started by `llmux up` admits only the identities it made; pass --nkey-seed-file with one (llmux up prints where its control identity is)', { cause: error });
  });
  return new NatsTransport(nc, options.name);
}

function toNatsHeaders(h: MessageHeaders | undefined): MsgHdrs | undefined {
  if (!h) return undefined;
  let out: MsgHdrs | undefined;
  const set = (k: string, v: string): void => {
    out ??= natsHeaders();
    out.set(k, v);
  };
  if (h.requestId !== undefined) set(headerNames.requestId, h.requestId);
  if (h.deadline !== undefined) set(headerNames.deadline, String(h.deadline));
  if (h.traceparent !== undefined) set(headerNames.traceparent, h.traceparent);
  if (h.routingMethod !== undefined) set(headerNames.routingMethod, h.routingMethod);
  if (h.prefillTokens !== undefined) set(headerNames.prefillTokens, String(h.prefillTokens));
  if (h.hops !== undefined) set(headerNames.hops, h.hops);
  return out;
}

function fromNatsHeaders(h: MsgHdrs | undefined): MessageHeaders {
  const out: MessageHeaders = {};
  if (!h) return out;
  const requestId = h.get(headerNames.requestId);
  if (requestId) out.requestId = requestId;
  const deadline = Number(h.get(headerNames.deadline));
  if (deadline > 0) out.deadline = deadline;
  const traceparent = h.get(headerNames.traceparent);
  if (traceparent) out.traceparent = traceparent;
  const routingMethod = h.get(headerNames.routingMethod);
  if (routingMethod) out.routingMethod = routingMethod;
  const prefillTokens = h.get(headerNames.prefillTokens);
  // A whole number of tokens, at most 10⁹; anything else is left out.
  if (/^\d{1,10}$/.test(prefillTokens) && Number(prefillTokens) <= 1e9) out.prefillTokens = Number(prefillTokens);
  const hops = h.get(headerNames.hops);
  if (hops) out.hops = hops;
  return out;
}

function toInbound(msg: Msg): Inbound {
  const noResponders = msg.headers?.code === 503 && msg.data.length === 0;
  return {
    subject: msg.subject,
    reply: msg.reply || undefined,
    headers: fromNatsHeaders(msg.headers),
    body: noResponders ? undefined : decode(msg.data),
    noResponders,
    raw: msg.data,
  };
}

export class NatsTransport implements Transport {
  readonly #nc: NatsConnection;
  readonly #kvm: Kvm;
  #closing: Promise<void> | undefined;
  #up = true;
  readonly #refusals: string[] = [];

  constructor(nc: NatsConnection, readonly name: string) {
    this.#nc = nc;
    this.#kvm = new Kvm(nc);
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.#up = false;
        else if (s.type === 'reconnect') this.#up = true;
        else if (s.type === 'error' && /Permissions Violation/i.test(String(s.error))) this.#refusals.push(String(s.error));
      }
    })().catch(() => undefined);
  }

  refusals(): string[] {
    return [...this.#refusals];
  }

  connected(): boolean {
    return this.#up && !this.#nc.isClosed();
  }

  /** As the connected server's INFO says: after a reconnect, another server of a cluster may say otherwise. */
  maxPayload(): number {
    return this.#nc.info?.max_payload ?? defaultMaxPayload;
  }

  publish(subject: string, body: unknown, options?: PublishOptions): void {
    const h = toNatsHeaders(options?.headers);
    this.#nc.publish(subject, encode(body), {
      ...(options?.reply ? { reply: options.reply } : {}),
      ...(h ? { headers: h } : {}),
    });
  }

  forward(subject: string, message: Inbound): void {
    const h = toNatsHeaders(message.headers);
    this.#nc.publish(subject, message.raw, {
      ...(message.reply ? { reply: message.reply } : {}),
      ...(h ? { headers: h } : {}),
    });
  }

  subscribe(subject: string, handler: InboundHandler, options?: SubscribeOptions): Subscription {
    const sub = this.#nc.subscribe(subject, {
      ...(options?.queue ? { queue: options.queue } : {}),
      callback: (err, msg) => {
        if (err) return;
        let inbound: Inbound;
        try {
          inbound = toInbound(msg);
        } catch {
          return; // an undecodable frame is dropped at the boundary; protocols validate the rest
        }
        handler(inbound);
      },
    });
    return { unsubscribe: () => sub.unsubscribe() };
  }

  newInboxPrefix(): string {
    return createInbox();
  }

  flush(): Promise<void> {
    return this.#nc.flush();
  }

  async keyValue(bucket: string, options?: KvBucketOptions): Promise<KvStore> {
    const kv = await this.#kvm.create(bucket, {
      history: options?.history ?? 1,
      ...(options?.maxAgeMs ? { ttl: options.maxAgeMs } : {}),
      ...(options?.placementCluster ? { placement: { cluster: options.placementCluster, tags: [] } } : {}),
    });
    return new NatsKvStore(kv);
  }

  durableStream(name: string, options: DurableStreamOptions): Promise<DurableStream> {
    return openNatsDurableStream(this.#nc, name, options);
  }

  durableStreams(prefix: string): Promise<Map<string, DurableStream>> {
    return existingNatsDurableStreams(this.#nc, prefix);
  }

  serverCluster(): string | undefined {
    return this.#nc.info?.cluster;
  }

  journal(name: string, options: JournalOptions): Promise<Journal> {
    return openNatsJournal(this.#nc, name, options);
  }

  /** Resolves when the connection closes for good (after close(), or when the server is gone for good). */
  closed(): Promise<void> {
    return this.#nc.closed().then(() => undefined);
  }

  close(): Promise<void> {
    this.#closing ??= this.#nc.isClosed() ? Promise.resolve() : this.#nc.drain().catch(() => this.#nc.close());
    return this.#closing;
  }
}
