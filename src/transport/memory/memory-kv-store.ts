/** An in-memory KvStore with revisions and watches, for unit tests. */
import type { KvEntry, KvStore, Subscription } from '../transport.js';

export class MemoryKvStore implements KvStore {
  readonly #values = new Map<string, KvEntry>();
  readonly #watchers = new Set<{ prefix: string; onEntry: (e: KvEntry) => void }>();
  #revision = 0;

  async get(key: string): Promise<KvEntry | undefined> {
    return this.#values.get(key);
  }

  async put(key: string, value: unknown): Promise<number> {
    const entry: KvEntry = { key, value: structuredClone(value), revision: ++this.#revision };
    this.#values.set(key, entry);
    this.#notify(entry);
    return entry.revision;
  }

  async delete(key: string): Promise<void> {
    this.#values.delete(key);
    this.#notify({ key, value: undefined, revision: ++this.#revision });
  }

  async keys(prefix = ''): Promise<string[]> {
    return [...this.#values.keys()].filter((k) => k.startsWith(prefix));
  }

  async watch(prefix: string, onEntry: (entry: KvEntry) => void): Promise<Subscription> {
    for (const e of this.#values.values()) if (e.key.startsWith(prefix)) onEntry(e);
    const watcher = { prefix, onEntry };
    this.#watchers.add(watcher);
    return { unsubscribe: () => this.#watchers.delete(watcher) };
  }

  #notify(entry: KvEntry): void {
    for (const w of this.#watchers) if (entry.key.startsWith(w.prefix)) queueMicrotask(() => w.onEntry(entry));
  }
}
