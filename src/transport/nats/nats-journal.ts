/**
 * A Journal over a JetStream stream with memory storage, bounded by age and bytes (discard old):
 * one subject per key under the prefix. Appends wait for the stream's ack; following is an ordered
 * consumer filtered on the key's one subject (2.9 accepts only a single filter subject), consumed
 * continuously, so it replays what is stored and then delivers each new entry as it is appended.
 */
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { decode, encode } from '../codec.js';
import { encodeSegment } from '../subjects.js';
import type { Journal, JournalOptions, Subscription } from '../transport.js';

/** Bound on every JetStream API request (stream info/add/update, consumer create) and publish ack. */
const apiTimeoutMs = 5_000;
/**
 * A follower whose process died leaves its consumer behind; the server removes it after this long
 * without a pull. (unsubscribe() deletes it at once.)
 */
const followerInactiveMs = 30_000;

export async function openNatsJournal(nc: NatsConnection, name: string, options: JournalOptions): Promise<Journal> {
  const jsm = await jetstreamManager(nc, { timeout: apiTimeoutMs });
  const wanted = {
    subjects: [`${options.subjectPrefix}.>`],
    max_age: nanos(options.maxAgeMs),
    max_bytes: options.maxBytes,
    discard: DiscardPolicy.Old,
    // No message ids are used; the server refuses a duplicate window longer than max_age.
    duplicate_window: nanos(Math.min(options.maxAgeMs, 120_000)),
  } satisfies Partial<StreamConfig>;
  // Two gateways may start together: whoever loses the create race finds the stream on the retry.
  for (let attempt = 0; ; attempt++) {
    const existing = await streamConfig(jsm, name);
    try {
      if (!existing) {
        await jsm.streams.add({ name, storage: StorageType.Memory, retention: RetentionPolicy.Limits, num_replicas: 1, ...wanted });
      } else if (!sameLimits(existing, wanted)) {
        // The limits are this deployment's configuration: an operator who changes retention expects
        // it to apply, and a memory stream otherwise keeps its first limits until the server restarts.
        // Storage is not touched (it cannot be updated): a file-storage journal someone made on
        // purpose is reused as it is.
        await jsm.streams.update(name, wanted);
      }
      break;
    } catch (error) {
      if (attempt > 0) throw new Error(`cannot open the stream journal '${name}' on subjects ${wanted.subjects.join(', ')}`, { cause: error });
    }
  }
  return new NatsJournal(jetstream(nc, { timeout: apiTimeoutMs }), name, options.subjectPrefix);
}

async function streamConfig(jsm: JetStreamManager, name: string): Promise<StreamConfig | undefined> {
  try {
    return (await jsm.streams.info(name)).config;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw error;
  }
}

function sameLimits(have: StreamConfig, want: Pick<StreamConfig, 'subjects' | 'max_age' | 'max_bytes' | 'discard' | 'duplicate_window'>): boolean {
  return have.subjects.length === want.subjects.length && have.subjects.every((s, i) => s === want.subjects[i]) &&
    have.max_age === want.max_age && have.max_bytes === want.max_bytes && have.discard === want.discard &&
    have.duplicate_window === want.duplicate_window;
}

class NatsJournal implements Journal {
  constructor(readonly js: JetStreamClient, readonly name: string, readonly subjectPrefix: string) {}

  #subject(key: string): string {
    return `${this.subjectPrefix}.${encodeSegment(key)}`;
  }

  async append(key: string, body: unknown): Promise<void> {
    // `expect.streamName`: an entry captured by some other stream on an overlapping subject is an error, not a silent loss.
    await this.js.publish(this.#subject(key), encode(body), { timeout: apiTimeoutMs, expect: { streamName: this.name } });
  }

  async follow(key: string, onEntry: (body: unknown) => void): Promise<Subscription> {
    // A string filter goes out as `filter_subject` (one subject), which nats-server 2.9 understands.
    const consumer = await this.js.consumers.get(this.name, {
      filter_subjects: this.#subject(key),
      deliver_policy: DeliverPolicy.All,
      inactive_threshold: followerInactiveMs,
    });
    // consume() keeps a pull open and re-pulls as it drains, so entries keep arriving live; the
    // ordered consumer re-creates itself at the right sequence after a gap or missed heartbeats.
    const messages = await consumer.consume({
      max_messages: 256,
      expires: 10_000,
      callback: (m) => {
        let body: unknown;
        try {
          body = decode(m.data);
        } catch {
          return; // an undecodable entry is dropped at the boundary; the reader validates the rest
        }
        onEntry(body);
      },
    });
    let stopped = false;
    return {
      unsubscribe: () => {
        if (stopped) return;
        stopped = true;
        void messages.close().catch(() => undefined);
        void consumer.delete().catch(() => undefined); // else it lingers until inactive_threshold
      },
    };
  }
}
