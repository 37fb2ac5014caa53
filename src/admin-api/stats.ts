/**
 * `GET /admin/api/stats[?usage_window_s=N]`: one snapshot for `llmux top`. The worker table from
 * the routers (as `GET /admin/api/workers`), this gateway's counters by model, error answers by
 * status, and usage per tenant from the ledger over the last N seconds (default 300, at most a day).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../errors.js';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { Transport } from '../transport/transport.js';
import { sendError, sendJson } from '../actors/gateway/http-io.js';
import { gatewayStats } from './gateway-stats.js';
import { workersFromRouters } from './routing.js';
import type { StatsSnapshot, WorkerStats } from './stats-snapshot.js';
import { usageTally } from './usage-window.js';

export const defaultUsageWindowSeconds = 300;
const maxUsageWindowSeconds = 86_400;

export async function getStats(transport: Transport, metrics: GatewayMetrics | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  const asked = query.get('usage_window_s');
  const windowSeconds = asked === null ? defaultUsageWindowSeconds : Number(asked);
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > maxUsageWindowSeconds) {
    return void sendError(res, { code: ErrorCode.invalidRequest, retryable: false, param: 'usage_window_s', message: `usage_window_s must be a whole number of seconds from 1 to ${maxUsageWindowSeconds}` });
  }
  const [{ routers, workers }, counters, usage] = await Promise.all([
    workersFromRouters(transport),
    metrics ? gatewayStats(metrics) : { models: [], errors: [], rateLimited: [] },
    usageTally(transport).current(windowSeconds),
  ]);
  const snapshot: StatsSnapshot = {
    at: Date.now(),
    routers,
    workers: workers.map((w): WorkerStats => ({
      workerId: w.descriptor.workerId, functionId: w.descriptor.functionId, versionId: w.descriptor.versionId, model: w.descriptor.model,
      engine: w.descriptor.engineKind, cluster: w.descriptor.cluster, state: w.load.state, healthy: w.load.healthy, breaker: w.breaker,
      inFlight: w.inFlight, capacity: w.descriptor.capacity, load: w.descriptor.capacity > 0 ? w.inFlight / w.descriptor.capacity : 0,
      ...(w.load.engine?.kvCacheUsage !== undefined ? { kvCacheUsage: w.load.engine.kvCacheUsage } : {}),
      ...(w.load.engine?.waiting !== undefined ? { engineWaiting: w.load.engine.waiting } : {}),
      lastSeenMsAgo: w.lastSeenMsAgo,
    })),
    ...counters,
    usage,
  };
  sendJson(res, 200, snapshot);
}
