/** `--metrics-port` / `--metrics-host` of the role commands: GET /metrics on a port of its own. */
import type { Registry } from 'prom-client';
import type { Logger } from '../../observability/logger.js';
import { startMetricsServer } from '../../observability/metrics-server.js';

export interface MetricsFlags {
  metricsPort?: number;
  metricsHost: string;
}

/** The role's metrics endpoint when `--metrics-port` is given: its URL (for the ready line) and its stop. */
export async function serveRoleMetrics(flags: MetricsFlags, registry: Registry, log: Logger): Promise<{ url?: string; stop(): Promise<void> }> {
  if (flags.metricsPort === undefined) return { stop: async () => undefined };
  const server = await startMetricsServer({ registries: [registry], port: flags.metricsPort, host: flags.metricsHost, log });
  return { url: server.url, stop: () => server.stop() };
}
