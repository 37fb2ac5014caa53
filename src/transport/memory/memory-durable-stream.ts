/** An in-memory DurableStream for unit tests of one actor: ordered, de-duplicated by id within a window. */
import type { DurableStream, StoredMessage } from '../transport.js';

export class MemoryDurableStream implements DurableStream {
  readonly messages: StoredMessage[] = [];
  readonly #seen = new Map<string, number>();

  constructor(readonly duplicateWindowMs: number) {}

  async append(subject: string, body: unknown, msgId: string): Promise<{ duplicate: boolean }> {
    const now = Date.now();
    const at = this.#seen.get(msgId);
    if (at !== undefined && now - at < this.duplicateWindowMs) return { duplicate: true };
    this.#seen.set(msgId, now);
    this.messages.push({ subject, body: structuredClone(body), time: now });
    return { duplicate: false };
  }

  async *read(since = 0): AsyncIterable<StoredMessage> {
    for (const m of [...this.messages]) if (m.time >= since) yield m;
  }
}
