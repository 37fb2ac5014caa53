/**
 * Following a KV bucket's changes through partitions. nats.js's watcher is an ordered push consumer
 * on the bucket's stream, which lives in one cluster (the home cluster of a supercluster). Cut off
 * from it, the consumer's deliveries are lost; when the link heals, the gap shows only with the next
 * change or after two missed 30 s idle heartbeats, so a process could serve a minute on a stale view.
 * And a watcher whose consumer cannot be re-created ends, silently.
 *
 * So every watch here is kept up: when its watcher ends it is started again (backoff up to 5 s), from
 * the revision after the last one delivered; and a probe of the stream's last sequence (one per store,
 * every `probeMs`) starts it again when the bucket holds a revision the watch has not seen once the
 * probe has seen that revision twice (a change still on its way is not a gap). A restart for a change
 * outside the watch's prefix finds nothing and is not repeated for that revision.
 */
import type { KV, KvEntry as NatsKvEntry } from '@nats-io/kv';


const maxBackoffMs = 5_000;

export class KvFollower {
  /** The highest revision delivered (or skipped as already known). */
  #lastRevision: number;
  /** The bucket's last sequence the probe has already acted on. */
  #checkedSeq = 0;
  #watcher: { stop(): void } | undefined;
  #stopped = false;
  #generation = 0;
  restarts = 0;

  constructor(readonly kv: KV, readonly key: string, fromRevision: number, readonly onEntry: (e: NatsKvEntry) => void) {
    this.#lastRevision = fromRevision;
  }

  get lastRevision(): number {
    return this.#lastRevision;
  }

  /** Starts following; resolves once the first watcher is up (throws when it cannot be made at all). */
  async start(): Promise<void> {
    await this.#follow(++this.#generation);
  }

  /** The probe's finding: the bucket's stream ends at `lastSeq`, twice in a row. */
  settled(lastSeq: number): void {
    if (this.#stopped || lastSeq <= this.#lastRevision || lastSeq <= this.#checkedSeq) return;
    this.#checkedSeq = lastSeq;
    this.restarts++;
    this.#restart(0);
  }

  stop(): void {
    this.#stopped = true;
    this.#watcher?.stop();
  }

  async #follow(generation: number): Promise<void> {
    const watcher = await this.kv.watch({ key: this.key, resumeFromRevision: this.#lastRevision + 1 });
    if (this.#stopped || generation !== this.#generation) {
      watcher.stop();
      return;
    }
    this.#watcher = watcher;
    void (async () => {
      for await (const e of watcher) {
        if (generation !== this.#generation) break;
        if (e.revision <= this.#lastRevision) continue;
        this.#lastRevision = e.revision;
        this.onEntry(e);
      }
    })().catch(() => undefined).finally(() => {
      // Ended by itself (not by a restart or stop): follow again.
      if (!this.#stopped && generation === this.#generation) this.#restart(250);
    });
  }

  #restart(delayMs: number, attempt = 0): void {
    const generation = ++this.#generation;
    this.#watcher?.stop();
    const again = (): void => {
      if (this.#stopped || generation !== this.#generation) return;
      this.#follow(generation).catch(() => {
        if (this.#stopped || generation !== this.#generation) return;
        const wait = Math.min(maxBackoffMs, 250 * 2 ** Math.min(attempt, 5));
        setTimeout(() => this.#restart(0, attempt + 1), wait).unref();
      });
    };
    if (delayMs > 0) setTimeout(again, delayMs).unref();
    else again();
  }
}

/** One probe per store: the bucket's stream's last sequence every `probeMs`, handed to its followers once seen twice. */
export class KvProbe {
  readonly followers = new Set<KvFollower>();
  #timer: NodeJS.Timeout | undefined;
  #previous = -1;
  #running = false;

  constructor(readonly kv: KV, readonly probeMs: number) {}

  add(f: KvFollower): void {
    this.followers.add(f);
    this.#timer ??= setInterval(() => void this.#probe(), this.probeMs).unref();
  }

  remove(f: KvFollower): void {
    this.followers.delete(f);
    if (this.followers.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  async #probe(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const status = await this.kv.status();
      const last = status.streamInfo.state.last_seq;
      if (last === this.#previous) for (const f of this.followers) f.settled(last);
      this.#previous = last;
    } catch {
      // cut off, or JetStream electing: the next probe tries again
    } finally {
      this.#running = false;
    }
  }
}
