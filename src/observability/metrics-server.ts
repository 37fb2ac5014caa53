/**
 * `GET /metrics` on a port of its own, for the roles that have no HTTP server (router, worker,
 * limiter) and for a gateway whose metrics should not share its public port: `--metrics-port`, on
 * 127.0.0.1 unless `--metrics-host` says otherwise. Prometheus text, or OpenMetrics with exemplars
 * when the scraper asks for it (metrics-text.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { assertDistinctNames, renderMetrics } from './metrics-text.js';

export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startMetricsServer(options: { registries: readonly Registry[]; port: number; host?: string; log?: Logger }): Promise<MetricsServer> {
  const { registries, log } = options;
  assertDistinctNames(registries);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    renderMetrics(registries, req.headers.accept).then(({ contentType, text }) => {
      res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
      res.end(req.method === 'HEAD' ? undefined : text);
    }, (error: unknown) => {
      log?.error({ err: error }, 'rendering metrics failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('metrics unavailable\n');
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/metrics`,
    port,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
