/**
 * The router's live table of workers, kept from registrations and heartbeats. A worker whose
 * heartbeats stop is expired after `expiryFactor` of its own heartbeat intervals; with sweeps every
 * quarter interval it leaves the table within three intervals of its death.
 */
import { isDeepStrictEqual } from 'node:util';
import { type BreakerPolicy, CircuitBreaker } from './circuit-breaker.js';
import { FleetColumns } from './fleet-columns.js';
import type { WorkerDescriptor, WorkerLoad } from './registry.protocol.js';

/** A worker as the table keeps it; only the table changes it (its columns mirror every change). */
export interface WorkerEntry {
  readonly descriptor: WorkerDescriptor;
  readonly load: WorkerLoad;
  /** Requests sent to the worker (by any router) since its last load report: its own count lags. */
  readonly dispatchedSinceReport: number;
  /** Tokens (prompt + max completion) of those requests, for usage-based routing. */
  readonly tokensSinceReport: number;
  /** Prompt tokens of those requests their routers expected the engine to prefill (not cached there); with the report's `prefilling`, cost-model's queued prefill. */
  readonly prefillSinceReport: number;
  readonly lastSeen: number;
  readonly breaker: CircuitBreaker;
}

type MutableEntry = { -readonly [K in keyof WorkerEntry]: WorkerEntry[K] };

export const expiryFactor = 2.5;

const emptyFleet = new FleetColumns([]);

export type BreakerChange = { workerId: string; change: 'opened' | 'closed' };

export class WorkerTable {
  readonly #workers = new Map<string, MutableEntry>();
  /** Workers by function id, sorted by worker id, as columns; rebuilt lazily after membership changes. */
  #byFunction: Map<string, FleetColumns> | undefined;

  constructor(readonly breakerPolicy?: BreakerPolicy) {}

  get size(): number {
    return this.#workers.size;
  }

  /** Applies a registration or heartbeat; returns a circuit breaker change it caused. */
  upsert(descriptor: WorkerDescriptor, load: WorkerLoad, now: number): BreakerChange | undefined {
    const existing = this.#workers.get(descriptor.workerId);
    if (existing && existing.descriptor.functionId === descriptor.functionId) {
      // The same descriptor again (every heartbeat carries it): keep the object, so decisions share the fleet's descriptors.
      if (!isDeepStrictEqual(existing.descriptor, descriptor)) existing.descriptor = descriptor;
      existing.load = load;
      existing.dispatchedSinceReport = 0;
      existing.tokensSinceReport = 0;
      existing.prefillSinceReport = 0;
      existing.lastSeen = now;
      const change = existing.breaker.report(load.outcomes, now);
      this.#written(existing);
      return change ? { workerId: descriptor.workerId, change } : undefined;
    }
    const breaker = new CircuitBreaker(this.breakerPolicy);
    breaker.report(load.outcomes, now);
    this.#workers.set(descriptor.workerId, { descriptor, load, dispatchedSinceReport: 0, tokensSinceReport: 0, prefillSinceReport: 0, lastSeen: now, breaker });
    this.#byFunction = undefined;
    return undefined;
  }

  /**
   * A load event: the worker's in-flight count now (what was routed to it before is in it, or
   * finished), and the prefill its requests without output still queue, when it reports that.
   */
  updateInFlight(workerId: string, inFlight: number, now: number, prefilling?: number): void {
    const w = this.#workers.get(workerId);
    if (!w) return;
    w.load = prefilling === undefined ? { ...w.load, inFlight } : { ...w.load, inFlight, prefilling };
    w.dispatchedSinceReport = 0;
    w.prefillSinceReport = 0;
    w.lastSeen = now;
    this.#written(w);
  }

  /** A request this router (or a peer) sent to the worker, with its tokens (prompt + max completion) and the prompt tokens expected to be prefilled. */
  routed(workerId: string, tokens: number, prefillTokens = 0): void {
    const w = this.#workers.get(workerId);
    if (!w) return;
    w.dispatchedSinceReport++;
    w.tokensSinceReport += tokens;
    w.prefillSinceReport += prefillTokens;
    this.#written(w);
  }

  remove(workerId: string): boolean {
    const removed = this.#workers.delete(workerId);
    if (removed) this.#byFunction = undefined;
    return removed;
  }

  get(workerId: string): WorkerEntry | undefined {
    return this.#workers.get(workerId);
  }

  /** Removes workers not heard from in time; returns their ids. */
  sweep(now: number): string[] {
    const expired: string[] = [];
    for (const [id, w] of this.#workers) {
      if (now - w.lastSeen > expiryFactor * w.descriptor.heartbeatMs) expired.push(id);
    }
    for (const id of expired) this.remove(id);
    return expired;
  }

  /** Every worker registered for a function, whatever model it serves, in a stable order (by id). */
  ofFunction(functionId: string): readonly WorkerEntry[] {
    return this.fleet(functionId).entries;
  }

  /** The same workers as columns, for decide(). */
  fleet(functionId: string): FleetColumns {
    return this.#fleets().get(functionId) ?? emptyFleet;
  }

  #fleets(): Map<string, FleetColumns> {
    if (!this.#byFunction) {
      const lists = new Map<string, WorkerEntry[]>();
      for (const w of this.#workers.values()) {
        const list = lists.get(w.descriptor.functionId) ?? [];
        list.push(w);
        lists.set(w.descriptor.functionId, list);
      }
      const index = new Map<string, FleetColumns>();
      for (const [functionId, list] of lists) {
        list.sort((a, b) => (a.descriptor.workerId < b.descriptor.workerId ? -1 : 1));
        index.set(functionId, new FleetColumns(list));
      }
      this.#byFunction = index;
    }
    return this.#byFunction;
  }

  /** Mirrors an entry's change into its function's columns (when they are built; else they will be). */
  #written(w: WorkerEntry): void {
    const fleet = this.#byFunction?.get(w.descriptor.functionId);
    const slot = fleet?.slotOf.get(w.descriptor.workerId);
    if (fleet && slot !== undefined) fleet.write(slot);
  }

  /** The shortest heartbeat interval in the table, for the sweep cadence. */
  shortestHeartbeatMs(): number | undefined {
    let min: number | undefined;
    for (const w of this.#workers.values()) min = Math.min(min ?? Infinity, w.descriptor.heartbeatMs);
    return min;
  }

  all(): WorkerEntry[] {
    return [...this.#workers.values()];
  }
}

/** A worker's load as this router sees it: its last report plus what was sent to it since. */
export function effectiveInFlight(w: WorkerEntry): number {
  return w.load.inFlight + w.dispatchedSinceReport;
}

/** In-flight relative to capacity: 0 idle, 1 full. */
export function utilization(w: WorkerEntry): number {
  return effectiveInFlight(w) / w.descriptor.capacity;
}
