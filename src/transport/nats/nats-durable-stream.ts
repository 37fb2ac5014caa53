/**
 * A DurableStream over a JetStream stream (file storage): appends carry `Nats-Msg-Id`, so the
 * server drops a repeat within the duplicate window and a publish retried after a lost ack is
 * stored once; reads use an ordered consumer from a start time to the end of the stream.
 */
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, StorageType } from '@nats-io/jetstream';
import { decode, encode } from '../codec.js';
import type { DurableStream, DurableStreamOptions, StoredMessage } from '../transport.js';

export async function openNatsDurableStream(nc: NatsConnection, name: string, options: DurableStreamOptions): Promise<DurableStream> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name, subjects: options.subjects, storage: StorageType.File,
    ...(options.maxAgeMs ? { max_age: nanos(options.maxAgeMs) } : {}),
    duplicate_window: nanos(options.duplicateWindowMs ?? 120_000),
    ...(options.placementCluster ? { placement: { cluster: options.placementCluster, tags: [] } } : {}),
  };
  try {
    await jsm.streams.info(name);
  } catch {
    await jsm.streams.add(config);
  }
  return new NatsDurableStream(jetstream(nc), name);
}

/** The existing streams whose names start with `prefix`, each opened for reading and appending. */
export async function existingNatsDurableStreams(nc: NatsConnection, prefix: string): Promise<Map<string, DurableStream>> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const out = new Map<string, DurableStream>();
  for await (const name of jsm.streams.names()) if (name.startsWith(prefix)) out.set(name, new NatsDurableStream(js, name));
  return out;
}

class NatsDurableStream implements DurableStream {
  constructor(readonly js: JetStreamClient, readonly name: string) {}

  async append(subject: string, body: unknown, msgId: string): Promise<{ duplicate: boolean }> {
    const ack = await this.js.publish(subject, encode(body), { msgID: msgId, timeout: 5_000 });
    return { duplicate: ack.duplicate };
  }

  async *read(since = 0): AsyncIterable<StoredMessage> {
    const consumer = await this.js.consumers.get(this.name, since > 0
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(since).toISOString() }
      : { deliver_policy: DeliverPolicy.All });
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 1_000, expires: 1_000 });
      let got = 0;
      let last = false;
      for await (const m of batch) {
        got++;
        yield { subject: m.subject, body: decode(m.data), time: m.time.getTime() };
        if (m.info.pending === 0) {
          last = true;
          break;
        }
      }
      if (last || got === 0) return;
    }
  }
}
