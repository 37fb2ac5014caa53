/**
 * What `GET /admin/api/stats` answers: one snapshot of a deployment for `llmux top`. Counters are
 * cumulative (since this gateway started); a reader diffs two snapshots for rates, so the server
 * stays exact and keeps no clock of its own.
 */
import type { BreakerState } from '../actors/router/circuit-breaker.js';
import type { UsageRow } from '../ledger/usage-summary.js';

export interface WorkerStats {
  workerId: string;
  functionId: string;
  versionId: string;
  model: string;
  engine: string;
  cluster: string;
  state: 'active' | 'draining';
  healthy: boolean;
  breaker: BreakerState;
  inFlight: number;
  capacity: number;
  /** inFlight / capacity, 0..1 (more when over capacity). */
  load: number;
  /** The engine's own report, when it has a metrics endpoint. */
  kvCacheUsage?: number;
  engineWaiting?: number;
  lastSeenMsAgo: number;
}

/** Cumulative histogram buckets: `[upper bound, observations at or below it]`, the last bound `+Inf`. */
export type Buckets = Array<[number, number]>;

export interface ModelStats {
  model: string;
  /** Requests answered (any status), and those answered with a status of 400 or more. */
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  ttft: { count: number; sumSeconds: number; buckets: Buckets; p50Seconds?: number; p95Seconds?: number };
}

export interface StatsSnapshot {
  /** When the snapshot was taken (epoch ms, the gateway's clock). */
  at: number;
  routers: string[];
  workers: WorkerStats[];
  /** This gateway's requests by model, since it started. */
  models: ModelStats[];
  /** This gateway's error answers by route and HTTP status, since it started (refusals before admission included). */
  errors: Array<{ route: string; status: number; count: number }>;
  /** 429s by the limit hit and its scope, since this gateway started. */
  rateLimited: Array<{ limit: string; scope: string; count: number }>;
  /** The usage ledger (every gateway) over the last `windowSeconds`, read at `asOf` (in the background: it may lag). */
  usage: {
    windowSeconds: number;
    asOf?: number;
    tenants: UsageRow[];
    /** Failed admitted requests by error code. */
    errorCodes: Array<{ code: string; count: number }>;
    /** Ledger streams that could not be read, or why the ledger could not be read at all. */
    unread: string[];
  };
}
