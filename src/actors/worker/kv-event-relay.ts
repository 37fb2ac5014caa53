/**
 * The worker's KV event relay: subscribes to its engine's KV event feed (the adapter says where:
 * engine-adapters/kv-event-source.ts), decodes vLLM's `KVEventBatch` messages, and republishes
 * them as `KvEventBatch` (protocol/kv-events.ts) on `subjects.kvEvents(cluster, workerId)` with its
 * own sequence numbers, one more per batch, for routers to keep an exact block index.
 *
 * Loss is told, never hidden. The first batch the relay publishes, and the first after any gap in the
 * engine's sequence numbers (messages lost while disconnected, or an engine restart, which starts
 * again from 0), begins with `cleared`: a router then forgets the worker's blocks rather than keep
 * ones the engine may have evicted unheard. When the engine has a replay socket (vLLM's
 * `replay_endpoint`, the `kv-events-replay` setting), lost batches are asked for first: while the
 * replay is under way live messages are held (at most MAX_HELD), and only if it fails (timeout, a
 * hole, an engine restart) does `cleared` follow.
 *
 * Bounded: nothing is queued; each message is decoded and published as it arrives (the ZMQ reader
 * holds at most one message of `maxMessageBytes`), and a batch larger than a NATS message is split.
 * The engine's bytes are hostile until decoded: a malformed message is dropped and counted, with a
 * warning at most every 10 s, and nothing it sends can throw out of here.
 */
import type { KvEventSource } from '../../engine-adapters/kv-event-source.js';
import { requestReplay } from '../../kv-events/replay.js';
import { type DecodedEventBatch, decodeEventBatch, KvEventDecodeError, readSeq } from '../../kv-events/vllm-events.js';
import { subscribe, type ZmqSubscriber } from '../../kv-events/zmq-sub.js';
import type { Logger } from '../../observability/logger.js';
import type { KvCacheEvent, KvEventBatch } from '../../protocol/kv-events.js';
import { subjects } from '../../transport/subjects.js';
import type { Transport } from '../../transport/transport.js';

export interface KvEventRelayOptions {
  source: KvEventSource;
  transport: Transport;
  cluster: string;
  workerId: string;
  model: string;
  log: Logger;
  /** Largest engine message accepted. Default 16 MiB. */
  maxMessageBytes?: number;
  /** First reconnect delay (doubled up to 5 s). Default 100 ms. */
  reconnectMs?: number;
}

export interface KvEventRelayStats {
  /** Engine messages received, decoded or not. */
  received: number;
  /** NATS batches published. */
  published: number;
  /** Engine messages dropped as malformed. */
  malformed: number;
  /** Gaps in the engine's sequence numbers: each answered by a replay, or else with `cleared`. */
  gaps: number;
  /** Engine batches recovered from its replay socket after a gap. */
  replayed: number;
}

export interface KvEventRelay {
  stats(): KvEventRelayStats;
  readonly connected: boolean;
  close(): void;
}

/** vLLM's default, used until the engine's first BlockStored (or the kv-events-block-size setting) says. */
const DEFAULT_BLOCK_SIZE = 16;
const WARN_EVERY_MS = 10_000;
/** Live messages held while a replay is under way, and batches a replay may bring. */
const MAX_HELD = 10_000;

interface Inbound {
  seq: bigint;
  decoded: DecodedEventBatch;
}
/** Bytes a stored block costs in a msgpack batch, at most: its hash string and its tokens (5 bytes each). */
const blockBytes = (blockSize: number): number => 32 + 5 * blockSize;

/** Splits events so that no batch exceeds `budget` bytes; a long BlockStored becomes several, each chained to the one before. */
export function splitEvents(events: readonly KvCacheEvent[], blockSize: number, budget: number): KvCacheEvent[][] {
  const perBlock = blockBytes(blockSize);
  const maxBlocks = Math.max(1, Math.floor(budget / perBlock));
  const out: KvCacheEvent[][] = [];
  let current: KvCacheEvent[] = [];
  let size = 0;
  const add = (event: KvCacheEvent, bytes: number): void => {
    if (size + bytes > budget && current.length > 0) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(event);
    size += bytes;
  };
  for (const event of events) {
    if (event.type === 'cleared') add(event, 16);
    else if (event.type === 'removed') {
      for (let i = 0; i < event.blocks.length; i += maxBlocks) add({ type: 'removed', blocks: event.blocks.slice(i, i + maxBlocks) }, 32 * Math.min(maxBlocks, event.blocks.length - i));
    } else {
      const per = event.blocks.length > 0 ? event.tokens.length / event.blocks.length : blockSize;
      for (let i = 0; i < event.blocks.length; i += maxBlocks) {
        const blocks = event.blocks.slice(i, i + maxBlocks);
        const parent = i === 0 ? event.parent : event.blocks[i - 1];
        add({ type: 'stored', blocks, ...(parent !== undefined ? { parent } : {}), tokens: event.tokens.slice(i * per, (i + blocks.length) * per) }, perBlock * blocks.length);
      }
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

export function startKvEventRelay(options: KvEventRelayOptions): KvEventRelay {
  const { source, transport, log } = options;
  const subject = subjects.kvEvents(options.cluster, options.workerId);
  const stats: KvEventRelayStats = { received: 0, published: 0, malformed: 0, gaps: 0, replayed: 0 };
  let blockSize = source.blockSize ?? DEFAULT_BLOCK_SIZE;
  let seq = 0;
  let expected: bigint | undefined;
  let mustClear = true;
  let lastWarn = 0;
  let unwarned = 0;

  const publish = (ts: number, events: KvCacheEvent[]): void => {
    // A quarter of the payload limit is left for the envelope and msgpack's own overhead.
    for (const chunk of splitEvents(events, blockSize, Math.floor(transport.maxPayload() * 0.75))) {
      const batch: KvEventBatch = { type: 'kv-events', workerId: options.workerId, model: options.model, blockSize, seq: seq++, ts, events: chunk };
      transport.publish(subject, batch);
      stats.published++;
    }
  };

  const malformed = (reason: string): void => {
    stats.malformed++;
    unwarned++;
    const now = Date.now();
    if (now - lastWarn < WARN_EVERY_MS) return;
    log.warn({ worker: options.workerId, endpoint: source.endpoint, dropped: unwarned, reason: reason.slice(0, 200) }, 'dropped malformed KV event messages from the engine');
    lastWarn = now;
    unwarned = 0;
  };

  const decode = (payload: Buffer): DecodedEventBatch | undefined => {
    try {
      return decodeEventBatch(payload);
    } catch (error) {
      malformed(error instanceof KvEventDecodeError ? error.message : String(error));
      return undefined;
    }
  };

  const emit = (m: Inbound): void => {
    expected = m.seq + 1n;
    if (m.decoded.blockSize !== undefined) blockSize = m.decoded.blockSize;
    const events: KvCacheEvent[] = mustClear ? [{ type: 'cleared' }, ...m.decoded.events] : m.decoded.events;
    mustClear = false;
    if (events.length > 0) publish(m.decoded.ts, events);
  };

  /** Live messages held, in order, while a replay is under way; undefined when none is. */
  let held: Inbound[] | undefined;
  let closed = false;
  const stopping = new AbortController();

  const accept = (m: Inbound): void => {
    if (expected !== undefined && m.seq !== expected) {
      stats.gaps++;
      // Batches lost (not an engine restart, which counts from 0 again): ask the engine for them.
      if (source.replayEndpoint && m.seq > expected) return replay(expected, m);
      mustClear = true;
      log.info({ worker: options.workerId, expected: String(expected), got: String(m.seq) }, 'KV events lost or the engine restarted: routers forget this worker\'s blocks');
    }
    emit(m);
  };

  const replay = (from: bigint, first: Inbound): void => {
    held = [first];
    requestReplay(source.replayEndpoint as string, from, { timeoutMs: 2000, maxBatches: MAX_HELD, signal: stopping.signal })
      .then((got) => {
        const missing = got.filter((b) => b.seq < first.seq);
        if (missing.length !== Number(first.seq - from) || missing.some((b, i) => b.seq !== from + BigInt(i))) return false;
        const decoded = missing.map((b) => decode(b.payload));
        if (decoded.some((d) => d === undefined)) return false;
        if (!closed) for (const [i, d] of decoded.entries()) emit({ seq: from + BigInt(i), decoded: d as DecodedEventBatch });
        stats.replayed += missing.length;
        return true;
      }, () => false)
      .then((recovered) => {
        if (!recovered) {
          mustClear = true;
          expected = undefined;
          log.info({ worker: options.workerId, from: String(from) }, 'KV events lost and not replayed: routers forget this worker\'s blocks');
        }
        const waiting = held ?? [];
        held = undefined;
        for (let i = 0; i < waiting.length && !closed; i++) {
          if (held) {
            (held as Inbound[]).push(...waiting.slice(i)); // another gap started another replay
            break;
          }
          accept(waiting[i] as Inbound);
        }
      });
  };

  const onMessage = (parts: Buffer[]): void => {
    stats.received++;
    if (parts.length !== 3) return malformed(`a message of ${parts.length} parts, not [topic, seq, payload]`);
    const engineSeq = readSeq(parts[1]);
    if (engineSeq === undefined) return malformed('a sequence number that is not 8 bytes');
    const decoded = decode(parts[2] as Buffer);
    if (!decoded) return;
    const m: Inbound = { seq: engineSeq, decoded };
    if (!held) return accept(m);
    if (held.length < MAX_HELD) held.push(m); // beyond, dropped: the gap after the held ones says so
  };

  const sub: ZmqSubscriber = subscribe({
    endpoint: source.endpoint,
    topic: source.topic,
    onMessage,
    maxMessageBytes: options.maxMessageBytes ?? 16 * 1024 * 1024,
    reconnectMs: options.reconnectMs ?? 100,
    onState: (state, detail) => {
      if (state === 'connected') {
        log.info({ worker: options.workerId, endpoint: source.endpoint }, 'subscribed to the engine\'s KV events');
        // Whatever the engine stored before now is unknown: routers start this worker's index afresh.
        if (mustClear) {
          publish(Date.now() / 1000, [{ type: 'cleared' }]);
          mustClear = false;
        }
      } else {
        log.warn({ worker: options.workerId, endpoint: source.endpoint, detail }, 'lost the engine\'s KV events; reconnecting');
      }
    },
  });

  return {
    stats: () => ({ ...stats }),
    get connected() {
      return sub.connected;
    },
    close: () => {
      closed = true;
      stopping.abort();
      sub.close();
    },
  };
}
