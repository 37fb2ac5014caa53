/**
 * Cluster summaries: what every router tells the other clusters about its own, about once a second,
 * on `llmux.summary.<cluster>`. A router reads the few summaries of remote clusters instead of
 * every remote heartbeat, so its registry work grows with the clusters, not with the fleet.
 * Another cluster's router is not trusted to be well-formed: everything is bounded here.
 */
import { isFiniteNumber, isObject, isString } from '../../protocol/guards.js';

/** One (function, version, model) of the cluster, over its registered workers. */
export interface SummaryEntry {
  functionId: string;
  versionId: string;
  model: string;
  /** Workers registered for it. */
  workers: number;
  /** Of them, those that could take a request: healthy, not draining, circuit not open, deployed. */
  ready: number;
  /** Capacity of the ready workers. */
  capacity: number;
  /** Requests the ready workers hold (their last report plus what was routed to them since). */
  inFlight: number;
  /** Free slots over the ready workers: the sum of capacity − in-flight where that is positive. */
  free: number;
  /** Whether any worker is ready. */
  healthy: boolean;
}

export interface ClusterSummary {
  type: 'summary';
  cluster: string;
  /** The router that sent it (any router of the cluster may; the newest wins). */
  routerId: string;
  /** The sender's clock, epoch ms. */
  at: number;
  /** How often the sender publishes: a receiver drops the summary after three missed ones. */
  intervalMs: number;
  entries: SummaryEntry[];
  /** Set when the cluster serves more than `maxEntries` models: the rest are left out. */
  truncated?: boolean;
}

export const summaryBounds = {
  maxEntries: 1024,
  maxNameLength: 256,
  intervalMs: { min: 100, max: 10_000 },
  /** No count in a summary is believed above this (a fleet is far smaller). */
  maxCount: 1_000_000_000,
} as const;

const isName = (v: unknown): v is string => isString(v) && v.length > 0 && v.length <= summaryBounds.maxNameLength;
const isCount = (v: unknown): v is number => isFiniteNumber(v) && Number.isInteger(v) && v >= 0 && v <= summaryBounds.maxCount;

function isEntry(v: unknown): v is SummaryEntry {
  return isObject(v) && isName(v.functionId) && isName(v.versionId) && isName(v.model) && isCount(v.workers) && isCount(v.ready) &&
    isCount(v.capacity) && isCount(v.inFlight) && isCount(v.free) && typeof v.healthy === 'boolean' &&
    v.ready <= v.workers && v.free <= v.capacity;
}

/** The summary, or undefined when anything in it is out of shape or out of bounds. */
export function parseClusterSummary(body: unknown): ClusterSummary | undefined {
  if (!isObject(body) || body.type !== 'summary' || !isName(body.cluster) || !isName(body.routerId) || !isFiniteNumber(body.at)) return undefined;
  const { intervalMs, entries } = body;
  if (!isFiniteNumber(intervalMs) || intervalMs < summaryBounds.intervalMs.min || intervalMs > summaryBounds.intervalMs.max) return undefined;
  if (!Array.isArray(entries) || entries.length > summaryBounds.maxEntries || !entries.every(isEntry)) return undefined;
  if (body.truncated !== undefined && typeof body.truncated !== 'boolean') return undefined;
  // Copied field by field: whatever else a sender packed in is not kept.
  const clean = entries.map((e: SummaryEntry): SummaryEntry => ({
    functionId: e.functionId, versionId: e.versionId, model: e.model, workers: e.workers, ready: e.ready,
    capacity: e.capacity, inFlight: e.inFlight, free: e.free, healthy: e.healthy,
  }));
  return {
    type: 'summary', cluster: body.cluster, routerId: body.routerId, at: body.at, intervalMs, entries: clean,
    ...(body.truncated ? { truncated: true } : {}),
  };
}
