/**
 * Records of one kind under a key prefix in the control KV, validated and kept in memory, and
 * followed by a watch so every process sees a change at once. A record that fails validation is
 * ignored, never half-applied. A write is visible here at once, everywhere else through the watch.
 */
import type { z } from 'zod';
import type { KvStore, Subscription } from '../transport/transport.js';

export class KvRecords<T> {
  readonly #items = new Map<string, T>();

  constructor(readonly kv: KvStore, readonly prefix: string, readonly schema: z.ZodType<T>) {}

  /** Loads the current records and follows changes; resolves once the current ones are in. */
  watch(): Promise<Subscription> {
    return this.kv.watch(this.prefix, (entry) => {
      const name = entry.key.slice(this.prefix.length);
      if (entry.value === undefined) return void this.#items.delete(name);
      const parsed = this.schema.safeParse(entry.value);
      if (parsed.success) this.#items.set(name, parsed.data);
    });
  }

  async put(name: string, record: T): Promise<void> {
    await this.kv.put(`${this.prefix}${name}`, record);
    this.#items.set(name, record);
  }

  async delete(name: string): Promise<void> {
    await this.kv.delete(`${this.prefix}${name}`);
    this.#items.delete(name);
  }

  get(name: string): T | undefined {
    return this.#items.get(name);
  }

  has(name: string): boolean {
    return this.#items.has(name);
  }

  values(): IterableIterator<T> {
    return this.#items.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.#items.entries();
  }

  get size(): number {
    return this.#items.size;
  }
}
