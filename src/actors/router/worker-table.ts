/**
 * The router's live table of workers, kept from registrations and heartbeats. A worker whose
 * heartbeats stop is expired after `expiryFactor` of its own heartbeat intervals; with sweeps every
 * quarter interval it leaves the table within three intervals of its death.
 */
import type { WorkerDescriptor, WorkerLoad } from './registry.protocol.js';

export interface WorkerEntry {
  descriptor: WorkerDescriptor;
  load: WorkerLoad;
  /** Requests this router sent since the worker's last load report (its count lags). */
  dispatchedSinceReport: number;
  lastSeen: number;
}

export const expiryFactor = 2.5;

export class WorkerTable {
  readonly #workers = new Map<string, WorkerEntry>();

  get size(): number {
    return this.#workers.size;
  }

  upsert(descriptor: WorkerDescriptor, load: WorkerLoad, now: number): void {
    this.#workers.set(descriptor.workerId, { descriptor, load, dispatchedSinceReport: 0, lastSeen: now });
  }

  remove(workerId: string): boolean {
    return this.#workers.delete(workerId);
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
    for (const id of expired) this.#workers.delete(id);
    return expired;
  }

  /** Workers serving this function's model, in a stable order (by id). */
  serving(functionId: string, model: string): WorkerEntry[] {
    const out: WorkerEntry[] = [];
    for (const w of this.#workers.values()) {
      if (w.descriptor.functionId === functionId && w.descriptor.model === model) out.push(w);
    }
    return out.sort((a, b) => (a.descriptor.workerId < b.descriptor.workerId ? -1 : 1));
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
