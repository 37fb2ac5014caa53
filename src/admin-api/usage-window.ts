/**
 * Usage per tenant over a recent window, from the usage ledger (every gateway's records). Reading
 * the ledger takes up to a second (JetStream waits that long to say there is nothing more), so a
 * stats request never waits for it: it gets the last summary read, and starts the next read when
 * that one is older than a refresh and none is running. One tally per transport (per gateway).
 */
import { readAllUsageRecords } from '../ledger/usage-ledger.js';
import { summarize } from '../ledger/usage-summary.js';
import type { Transport } from '../transport/transport.js';
import type { StatsSnapshot } from './stats-snapshot.js';

type Usage = StatsSnapshot['usage'];

/** A summary older than this is read again on the next stats request. */
const refreshMs = 1_000;

class UsageTally {
  #last: Usage | undefined;
  #reading: Promise<void> | undefined;
  #readAt = 0;

  constructor(private readonly transport: Transport) {}

  /** The freshest summary for `windowSeconds`; the first call for a window waits for its read. */
  async current(windowSeconds: number): Promise<Usage> {
    const stale = !this.#last || this.#last.windowSeconds !== windowSeconds || Date.now() - this.#readAt >= refreshMs;
    if (stale && !this.#reading) {
      this.#readAt = Date.now();
      this.#reading = this.#read(windowSeconds).finally(() => {
        this.#reading = undefined;
      });
    }
    if ((!this.#last || this.#last.windowSeconds !== windowSeconds) && this.#reading) await this.#reading;
    return this.#last ?? { windowSeconds, tenants: [], errorCodes: [], unread: ['the usage ledger has not been read yet'] };
  }

  async #read(windowSeconds: number): Promise<void> {
    const until = Date.now();
    const since = until - windowSeconds * 1_000;
    try {
      const { records, unread } = await readAllUsageRecords(this.transport, since);
      const codes = new Map<string, number>();
      for (const r of records) if (r.errorCode && Date.parse(r.start) >= since) codes.set(r.errorCode, (codes.get(r.errorCode) ?? 0) + 1);
      this.#last = {
        windowSeconds, asOf: until,
        tenants: summarize(records, ['tenant'], { since, until: Number.POSITIVE_INFINITY }),
        errorCodes: [...codes.entries()].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
        unread: unread.map((u) => `${u.stream}: ${u.error}`),
      };
    } catch (error) {
      this.#last = { windowSeconds, asOf: until, tenants: [], errorCodes: [], unread: [`the usage ledger could not be read: ${error instanceof Error ? error.message : String(error)}`] };
    }
  }
}

const tallies = new WeakMap<Transport, UsageTally>();

export function usageTally(transport: Transport): UsageTally {
  let tally = tallies.get(transport);
  if (!tally) {
    tally = new UsageTally(transport);
    tallies.set(transport, tally);
  }
  return tally;
}
