/**
 * The latest summary of every remote cluster (summary.protocol.ts), as this router heard it. Any
 * router of a cluster may send one and the newest wins. A summary is dropped after three of its
 * sender's intervals without a newer one, so a cluster that went away stops drawing spills within
 * about three seconds. Bounded: at most `maxClusters` clusters, each summary at most its entry bound.
 */
import type { RemoteCandidate } from './locality.js';
import type { ClusterSummary, SummaryEntry } from './summary.protocol.js';

/** Summaries live this many of their sender's intervals. */
export const summaryExpiryIntervals = 3;

interface Held {
  summary: ClusterSummary;
  receivedAt: number;
  /** The summary's entries by function and model (versions summed at lookup). */
  byModel: Map<string, SummaryEntry[]>;
  /** Requests this router spilled there since the summary, by function and model: its free count is that much lower. */
  spilledSince: Map<string, number>;
}

export type AcceptOutcome = 'accepted' | 'own-cluster' | 'older' | 'table-full';

const modelKey = (functionId: string, model: string): string => `${functionId}\u0000${model}`;

export class RemoteClusters {
  readonly #clusters = new Map<string, Held>();

  constructor(readonly ownCluster: string, readonly maxClusters = 64) {}

  get size(): number {
    return this.#clusters.size;
  }

  /** Takes a summary received at `now` (validated already). */
  accept(summary: ClusterSummary, now: number): AcceptOutcome {
    if (summary.cluster === this.ownCluster) return 'own-cluster';
    const held = this.#clusters.get(summary.cluster);
    // Newest by the sender's clock; but a held summary not renewed within its interval gives way to any
    // other (its sender went away, or its clock runs ahead of its peers').
    if (held && summary.at < held.summary.at && now - held.receivedAt < held.summary.intervalMs) return 'older';
    if (!held && this.#clusters.size >= this.maxClusters) {
      this.sweep(now);
      if (this.#clusters.size >= this.maxClusters) return 'table-full';
    }
    const byModel = new Map<string, SummaryEntry[]>();
    for (const e of summary.entries) {
      const key = modelKey(e.functionId, e.model);
      const list = byModel.get(key);
      if (list) list.push(e);
      else byModel.set(key, [e]);
    }
    this.#clusters.set(summary.cluster, { summary, receivedAt: now, byModel, spilledSince: new Map() });
    return 'accepted';
  }

  #fresh(held: Held, now: number): boolean {
    return now - held.receivedAt <= summaryExpiryIntervals * held.summary.intervalMs;
  }

  /** Fresh remote clusters with workers for the model, sorted by name. */
  candidates(functionId: string, model: string, now: number): RemoteCandidate[] {
    const key = modelKey(functionId, model);
    const out: RemoteCandidate[] = [];
    for (const [cluster, held] of this.#clusters) {
      const entries = held.byModel.get(key);
      if (!entries || !this.#fresh(held, now)) continue;
      const sent = held.spilledSince.get(key) ?? 0;
      const c: RemoteCandidate = { cluster, workers: 0, ready: 0, capacity: 0, inFlight: sent, free: -sent, ageMs: Math.max(0, now - held.receivedAt) };
      for (const e of entries) {
        c.workers += e.workers;
        c.ready += e.ready;
        c.capacity += e.capacity;
        c.inFlight += e.inFlight;
        c.free += e.free;
      }
      c.free = Math.max(0, c.free);
      out.push(c);
    }
    return out.sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0));
  }

  /** Counts a request spilled to `cluster` against its free slots until its next summary. */
  noteSpill(cluster: string, functionId: string, model: string): void {
    const held = this.#clusters.get(cluster);
    if (!held) return;
    const key = modelKey(functionId, model);
    held.spilledSince.set(key, (held.spilledSince.get(key) ?? 0) + 1);
  }

  /** Drops expired summaries; returns their clusters. */
  sweep(now: number): string[] {
    const expired: string[] = [];
    for (const [cluster, held] of this.#clusters) if (!this.#fresh(held, now)) expired.push(cluster);
    for (const cluster of expired) this.#clusters.delete(cluster);
    return expired;
  }

  /** What the router holds of each cluster, for the admin API and logs. */
  views(now: number): Array<{ cluster: string; routerId: string; ageMs: number; entries: number; truncated: boolean }> {
    return [...this.#clusters].map(([cluster, h]) => ({
      cluster, routerId: h.summary.routerId, ageMs: now - h.receivedAt, entries: h.summary.entries.length, truncated: h.summary.truncated === true,
    }));
  }
}
