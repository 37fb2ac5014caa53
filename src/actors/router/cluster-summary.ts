/**
 * A router's summary of its own cluster (summary.protocol.ts), built from its worker table: per
 * function, version and model, how many workers there are, how many are ready and how much room
 * they have. One pass over the table, about once a second.
 */
import type { Deployment } from '../../control/function.schema.js';
import { deployedIn } from './eligibility.js';
import { type SummaryEntry, summaryBounds } from './summary.protocol.js';
import { effectiveInFlight, type WorkerEntry } from './worker-table.js';

/** The entries for `workers`, sorted by function, model and version; at most `maxEntries` (then `truncated`). */
export function summarizeWorkers(
  workers: Iterable<WorkerEntry>,
  deployments: (functionId: string) => ReadonlyMap<string, Deployment> | undefined,
  now: number,
  maxEntries: number = summaryBounds.maxEntries,
): { entries: SummaryEntry[]; truncated: boolean } {
  const byKey = new Map<string, SummaryEntry>();
  const deployedOf = new Map<string, ReadonlyMap<string, Deployment> | undefined>();
  for (const w of workers) {
    const d = w.descriptor;
    const key = `${d.functionId}\u0000${d.model}\u0000${d.versionId}`;
    let entry = byKey.get(key);
    if (!entry) {
      entry = { functionId: d.functionId, versionId: d.versionId, model: d.model, workers: 0, ready: 0, capacity: 0, inFlight: 0, free: 0, healthy: false };
      byKey.set(key, entry);
    }
    entry.workers++;
    if (!deployedOf.has(d.functionId)) deployedOf.set(d.functionId, deployments(d.functionId));
    const ready = w.load.state === 'active' && w.load.healthy && w.breaker.state(now) !== 'open' && deployedIn(d, deployedOf.get(d.functionId));
    if (!ready) continue;
    // A worker's own count is only checked to be finite: whatever it claims, the summary stays in bounds for its readers.
    const inFlight = Math.min(Math.max(0, Math.round(effectiveInFlight(w))), d.capacity * 1000);
    entry.ready++;
    entry.healthy = true;
    entry.capacity += d.capacity;
    entry.inFlight += inFlight;
    entry.free += Math.max(0, d.capacity - inFlight);
  }
  const keys = [...byKey.keys()].sort();
  const cap = (n: number): number => Math.min(n, summaryBounds.maxCount);
  const entries = keys.slice(0, maxEntries).map((k) => {
    const e = byKey.get(k) as SummaryEntry;
    return { ...e, capacity: cap(e.capacity), inFlight: cap(e.inFlight), free: cap(e.free) };
  });
  return { entries, truncated: keys.length > maxEntries };
}
