/**
 * A router's link to the other clusters of a supercluster (docs/routing.md, "Locality"):
 * - it publishes its own cluster's summary on `llmux.summary.<cluster>` each interval;
 * - it keeps the latest summary of every remote cluster (remote-clusters.ts);
 * - it forwards a request it spills, unchanged and with the gateway's reply subject, to the chosen
 *   cluster's routers on `llmux.cluster.<to>.route.<fn>.<from>` (one queue group per cluster);
 * - it takes the requests other clusters spill to its own.
 * Registry traffic never crosses: a router hears only its own cluster's workers.
 */
import type { Logger } from '../../observability/logger.js';
import { queues, spilledFrom, subjects } from '../../transport/subjects.js';
import type { Inbound, Subscription, Transport } from '../../transport/transport.js';
import type { Deployment } from '../../control/function.schema.js';
import { parseRoutedRequest, type RoutedRequest } from '../worker/worker.protocol.js';
import { summarizeWorkers } from './cluster-summary.js';
import { RemoteClusters } from './remote-clusters.js';
import { type ClusterSummary, parseClusterSummary } from './summary.protocol.js';
import type { WorkerEntry } from './worker-table.js';

/** How often a router publishes its cluster's summary, by default. */
export const defaultSummaryIntervalMs = 1_000;

export interface ClusterLinkOptions {
  transport: Transport;
  cluster: string;
  routerId: string;
  log: Logger;
  summaryIntervalMs: number;
}

export interface ClusterLinkHandlers {
  /** A remote cluster's summary (validated; the router's own cluster's never come here). */
  summary(summary: ClusterSummary): void;
  /** A request another cluster's router spilled here. */
  spilled(message: Inbound, request: RoutedRequest, from: string): void;
}

export class ClusterLink {
  readonly remotes: RemoteClusters;
  readonly #options: ClusterLinkOptions;

  constructor(options: ClusterLinkOptions) {
    this.#options = options;
    this.remotes = new RemoteClusters(options.cluster);
  }

  subscribe(handlers: ClusterLinkHandlers): Subscription[] {
    const { transport, cluster, log } = this.#options;
    return [
      transport.subscribe(subjects.summaryAll, (m) => {
        // The router's own cluster's summaries (its peers', its own) say nothing its table does not.
        if (m.subject === subjects.summary(cluster)) return;
        const summary = parseClusterSummary(m.body);
        if (!summary || m.subject !== subjects.summary(summary.cluster)) {
          log.debug({ subject: m.subject }, 'dropped a malformed cluster summary');
          return;
        }
        handlers.summary(summary);
      }),
      transport.subscribe(subjects.spillInto(cluster), (m) => {
        const from = spilledFrom(m.subject);
        const request = parseRoutedRequest(m.body);
        if (from === undefined || !request) return;
        handlers.spilled(m, request, from);
      }, { queue: queues.routers }),
    ];
  }

  /** Publishes the cluster's summary of `workers` (the router's table). */
  publishSummary(workers: Iterable<WorkerEntry>, deployments: (functionId: string) => ReadonlyMap<string, Deployment> | undefined, now: number): void {
    const { transport, cluster, routerId, summaryIntervalMs } = this.#options;
    const { entries, truncated } = summarizeWorkers(workers, deployments, now);
    const summary: ClusterSummary = { type: 'summary', cluster, routerId, at: now, intervalMs: summaryIntervalMs, entries, ...(truncated ? { truncated } : {}) };
    transport.publish(subjects.summary(cluster), summary);
  }

  /** Forwards `message` (the gateway's request, bytes, headers and reply subject untouched) to cluster `to`'s routers. */
  spill(message: Inbound, request: RoutedRequest, to: string): void {
    this.#options.transport.forward(subjects.spill(to, request.functionId, this.#options.cluster), message);
    this.remotes.noteSpill(to, request.functionId, request.model);
  }
}
