/** KvStore over a JetStream KV bucket; values are msgpack frames. */
import type { KV, KvEntry as NatsKvEntry } from '@nats-io/kv';
import { NoRespondersError, TimeoutError } from '@nats-io/nats-core';
import { JetStreamApiError } from '@nats-io/jetstream';
import { decode, encode } from '../codec.js';
import { type KvEntry, type KvStore, type Subscription, TransportUnavailableError } from '../transport.js';
import { KvFollower, KvProbe } from './nats-kv-watch.js';

/** JetStream's "temporarily unavailable" (no meta or stream leader: a partition, an election). */
const jsClusterUnavailable = 10008;

/** A failure that says the server or JetStream could not take the operation now, as TransportUnavailableError. */
async function available<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    // No stream answered the publish: nats.js calls that "jetstream is not enabled", and it is what a
    // client cut off from the bucket's cluster sees.
    const unavailable = error instanceof TimeoutError || error instanceof NoRespondersError || (error instanceof Error && error.name === 'JetStreamNotEnabled') ||
      (error instanceof JetStreamApiError && (error.code === jsClusterUnavailable || error.status === 503));
    if (unavailable) throw new TransportUnavailableError(`the control plane could not ${what}: ${(error as Error).message}`, { cause: error });
    throw error;
  }
}

function toEntry(e: NatsKvEntry): KvEntry {
  return { key: e.key, value: e.operation === 'PUT' ? decode(e.value) : undefined, revision: e.revision };
}

export class NatsKvStore implements KvStore {
  readonly #probe: KvProbe;

  /** `probeMs`: how often its watches check the bucket for a change they missed (nats-kv-watch.ts). */
  constructor(readonly kv: KV, probeMs = 2_000) {
    this.#probe = new KvProbe(kv, probeMs);
  }

  async get(key: string): Promise<KvEntry | undefined> {
    const e = await available(`read ${key}`, () => this.kv.get(key));
    return e && e.operation === 'PUT' ? toEntry(e) : undefined;
  }

  put(key: string, value: unknown): Promise<number> {
    return available(`write ${key}`, () => this.kv.put(key, encode(value)));
  }

  async delete(key: string): Promise<void> {
    await available(`delete ${key}`, () => this.kv.delete(key));
  }

  async keys(prefix?: string): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await this.kv.keys(prefix ? `${prefix}>` : undefined)) out.push(k);
    return out;
  }

  async watch(prefix: string, onEntry: (entry: KvEntry) => void): Promise<Subscription> {
    // Deliver the current values first (so the caller is ready when this resolves), then follow
    // changes from the next revision on; the watch has no "caught up" marker when a bucket is empty.
    let lastRevision = 0;
    for (const key of await this.keys(prefix)) {
      const entry = await this.kv.get(key);
      if (!entry) continue;
      lastRevision = Math.max(lastRevision, entry.revision);
      onEntry(toEntry(entry));
    }
    // Kept up through partitions and heals (nats-kv-watch.ts).
    const follower = new KvFollower(this.kv, prefix ? `${prefix}>` : '>', lastRevision, (e) => onEntry(toEntry(e)));
    await follower.start();
    this.#probe.add(follower);
    return {
      unsubscribe: () => {
        this.#probe.remove(follower);
        follower.stop();
      },
    };
  }
}
