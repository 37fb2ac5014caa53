/**
 * The gateway's answer memory (operation.ts AnswerMemory) on a JetStream KV bucket whose age limit
 * is the answers' TTL: Responses' stored responses, for `GET /v1/responses/{id}` and
 * `previous_response_id`. The bucket is opened on first use, so a gateway that never stores opens none.
 */
import type { AnswerMemory } from '../../operations/operation.js';
import type { KvStore, Transport } from '../../transport/transport.js';

export interface AnswerMemoryOptions {
  /** Default `llmux_responses`. */
  bucket?: string;
  /** How long an answer is kept (default 1 h). */
  ttlMs?: number;
}

export const defaultAnswerTtlMs = 3_600_000;

export function kvAnswerMemory(transport: Transport, options: AnswerMemoryOptions = {}): AnswerMemory {
  let store: Promise<KvStore> | undefined;
  const open = (): Promise<KvStore> => {
    store ??= transport.keyValue(options.bucket ?? 'llmux_responses', { maxAgeMs: options.ttlMs ?? defaultAnswerTtlMs });
    // A failed open is tried again by the next caller (the server may have been away).
    store.catch(() => { store = undefined; });
    return store;
  };
  // The client has its answer before the write is stored: a lookup on this gateway waits for a write in flight.
  const writing = new Map<string, Promise<unknown>>();
  return {
    async get(id) {
      await writing.get(id)?.catch(() => undefined);
      return (await (await open()).get(id))?.value;
    },
    async put(id, value) {
      const write = open().then((kv) => kv.put(id, value));
      writing.set(id, write);
      try {
        await write;
      } finally {
        writing.delete(id);
      }
    },
  };
}
