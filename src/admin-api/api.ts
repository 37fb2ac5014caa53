/** Routes an authenticated `/admin/...` request to its handler; anything else is a 404 listing the routes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../errors.js';
import type { ApiKeyStore } from '../policy/api-key-store.js';
import { type Transport, TransportUnavailableError } from '../transport/transport.js';
import type { FunctionCatalog } from '../control/function-catalog.js';
import type { RouteTable } from '../control/route-table.js';
import { deleteBackend, deleteRoute, deleteRouting, discover, listBackends, listRouting, listRoutes, postRouting, putBackend, putRoute } from './routes.js';
import {
  createFunction, createVersion, deleteFunction, deploy, getFunction, getVersion, listFunctions, listVersions, undeploy, updateModel, versionStatus,
} from './functions.js';
import { createKey, listKeys, putTenant, revokeKey } from './keys.js';
import { drainWorker, getDecisions, listWorkers } from './routing.js';
import { sendError } from '../actors/gateway/http-io.js';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import { getStats } from './stats.js';

export interface AdminContext {
  transport: Transport;
  catalog: FunctionCatalog;
  routes?: RouteTable;
  keys?: ApiKeyStore;
  /** The gateway's metrics, for `GET /admin/api/stats` (without them it has no per-model counters). */
  metrics?: GatewayMetrics;
}

const routes = [
  'POST|GET /admin/api/functions', 'GET|DELETE /admin/api/functions/<id>', 'POST|GET /admin/api/functions/<id>/versions',
  'GET /admin/api/functions/<id>/versions/<v>', 'PATCH /admin/api/functions/<id>/versions/<v>/models/<model>',
  'POST /admin/api/functions/<id>/versions/<v>/deploy|undeploy', 'GET /admin/api/functions/<id>/versions/<v>/status',
  'GET /admin/api/decisions/<request-id>', 'GET /admin/api/workers', 'GET /admin/api/stats', 'POST /admin/api/workers/<worker-id>/drain',
  'PUT|GET|DELETE /admin/api/backends[/<name>]', 'PUT|GET|DELETE /admin/api/routes[/<name>]', 'GET|POST|DELETE /admin/api/routing', 'POST /admin/discover',
  'POST /admin/api/keys', 'GET /admin/api/keys', 'DELETE /admin/api/keys/<key-id>', 'PUT /admin/api/tenants/<tenant>',
];

/**
 * The admin API. A change the control plane cannot take now (this cluster cut off from the home
 * cluster, JetStream electing a leader) is a retryable 503, never a 500: nothing was written.
 */
export async function handleAdmin(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  try {
    await routeAdmin(ctx, req, res, path);
  } catch (error) {
    if (!(error instanceof TransportUnavailableError) || res.headersSent) throw error;
    res.setHeader('retry-after', '5');
    sendError(res, { code: ErrorCode.controlPlaneUnavailable, retryable: true, message: `${error.message}; nothing was changed, try again later` });
  }
}

async function routeAdmin(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const { transport, keys, catalog, routes: table } = ctx;
  const method = req.method ?? 'GET';
  /** The decoded path segments of the last match; undefined when one was malformed (the 400 is sent). */
  let segments: string[] | undefined;
  const match = (pattern: RegExp, verb: string): boolean => {
    const m = pattern.exec(path);
    if (!m || method !== verb) return false;
    try {
      segments = m.slice(1).map((s) => decodeURIComponent(s));
    } catch {
      sendError(res, { code: ErrorCode.invalidRequest, retryable: false, message: `'${path}' has a malformed URL path segment` });
      segments = undefined;
    }
    return true;
  };
  const withSegment = (run: (s: string) => Promise<void> | void): Promise<void> | void => (segments === undefined ? undefined : run(segments[0] as string));
  const with2 = (run: (a: string, b: string) => Promise<void> | void): Promise<void> | void => (segments === undefined ? undefined : run(segments[0] as string, segments[1] as string));
  const fn = '/admin/api/functions';

  if (match(new RegExp(`^${fn}$`), 'POST')) return createFunction(catalog, req, res);
  if (match(new RegExp(`^${fn}$`), 'GET')) return listFunctions(catalog, res);
  if (match(new RegExp(`^${fn}/([^/]+)$`), 'GET')) return withSegment((id) => getFunction(catalog, res, id));
  if (match(new RegExp(`^${fn}/([^/]+)$`), 'DELETE')) return withSegment((id) => deleteFunction(catalog, res, id));
  if (match(new RegExp(`^${fn}/([^/]+)/versions$`), 'POST')) return withSegment((id) => createVersion(catalog, req, res, id));
  if (match(new RegExp(`^${fn}/([^/]+)/versions$`), 'GET')) return withSegment((id) => listVersions(catalog, res, id));
  if (match(new RegExp(`^${fn}/([^/]+)/versions/([^/]+)$`), 'GET')) return with2((id, v) => getVersion(catalog, res, id, v));
  if (match(new RegExp(`^${fn}/([^/]+)/versions/([^/]+)/models/([^/]+)$`), 'PATCH')) {
    return segments === undefined ? undefined : updateModel(catalog, req, res, segments[0] as string, segments[1] as string, segments[2] as string);
  }
  if (match(new RegExp(`^${fn}/([^/]+)/versions/([^/]+)/deploy$`), 'POST')) return with2((id, v) => deploy(catalog, req, res, id, v));
  if (match(new RegExp(`^${fn}/([^/]+)/versions/([^/]+)/undeploy$`), 'POST')) return with2((id, v) => undeploy(catalog, res, id, v));
  if (match(new RegExp(`^${fn}/([^/]+)/versions/([^/]+)/status$`), 'GET')) return with2((id, v) => versionStatus(catalog, transport, res, id, v));

  if (match(/^\/admin\/api\/decisions\/([^/]+)$/, 'GET')) return withSegment((id) => getDecisions(transport, res, id));
  if (match(/^\/admin\/api\/workers$/, 'GET')) return listWorkers(transport, res);
  if (match(/^\/admin\/api\/stats$/, 'GET')) return getStats(transport, ctx.metrics, req, res);
  if (match(/^\/admin\/api\/workers\/([^/]+)\/drain$/, 'POST')) return withSegment((id) => drainWorker(transport, res, id));
  if (table) {
    if (match(/^\/admin\/api\/backends$/, 'GET')) return listBackends(table, res);
    if (match(/^\/admin\/api\/backends\/([^/]+)$/, 'PUT')) return withSegment((n) => putBackend(table, req, res, n));
    if (match(/^\/admin\/api\/backends\/([^/]+)$/, 'DELETE')) return withSegment((n) => deleteBackend(table, res, n));
    if (match(/^\/admin\/api\/routes$/, 'GET')) return listRoutes(table, res);
    if (match(/^\/admin\/api\/routes\/([^/]+)$/, 'PUT')) return withSegment((n) => putRoute(table, req, res, n));
    if (match(/^\/admin\/api\/routes\/([^/]+)$/, 'DELETE')) return withSegment((n) => deleteRoute(table, res, n));
    if (match(/^\/admin\/api\/routing$/, 'GET')) return listRouting(table, res);
    if (match(/^\/admin\/api\/routing$/, 'POST')) return postRouting(table, req, res);
    if (match(/^\/admin\/api\/routing$/, 'DELETE')) return deleteRouting(table, req, res);
    if (match(/^\/admin\/discover$/, 'POST')) return discover(table, res);
  }
  if (keys) {
    if (match(/^\/admin\/api\/keys$/, 'POST')) return createKey(keys, req, res);
    if (match(/^\/admin\/api\/keys$/, 'GET')) return listKeys(keys, res);
    if (match(/^\/admin\/api\/keys\/([^/]+)$/, 'DELETE')) return withSegment((id) => revokeKey(keys, res, id));
    if (match(/^\/admin\/api\/tenants\/([^/]+)$/, 'PUT')) return withSegment((t) => putTenant(keys, req, res, t));
  }
  sendError(res, { code: ErrorCode.unsupportedUri, retryable: false, message: `no admin route for ${method} ${path}; there are ${routes.join(', ')}` });
}
