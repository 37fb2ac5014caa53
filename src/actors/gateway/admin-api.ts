/** Routes an authenticated `/admin/...` request to its handler; anything else is a 404 listing the routes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../../errors.js';
import type { ApiKeyStore } from '../../policy/api-key-store.js';
import type { Transport } from '../../transport/transport.js';
import { createKey, listKeys, putTenant, revokeKey } from './admin-keys.js';
import { drainWorker, getDecisions, listWorkers } from './admin-routing.js';
import { sendError } from './http-io.js';

export interface AdminContext {
  transport: Transport;
  keys?: ApiKeyStore;
}

const routes = [
  'GET /admin/api/decisions/<request-id>', 'GET /admin/api/workers', 'POST /admin/api/workers/<worker-id>/drain',
  'POST /admin/api/keys', 'GET /admin/api/keys', 'DELETE /admin/api/keys/<key-id>', 'PUT /admin/api/tenants/<tenant>',
];

export async function handleAdmin(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const { transport, keys } = ctx;
  const method = req.method ?? 'GET';
  let segment: string | undefined;
  const match = (pattern: RegExp, verb: string): boolean => {
    const m = pattern.exec(path);
    if (!m || method !== verb) return false;
    if (m[1] === undefined) return true;
    try {
      segment = decodeURIComponent(m[1]);
      return true;
    } catch {
      sendError(res, { code: ErrorCode.invalidRequest, retryable: false, message: `'${m[1]}' is not a valid URL path segment` });
      segment = undefined;
      return true;
    }
  };
  const withSegment = (run: (s: string) => Promise<void> | void): Promise<void> | void => (segment === undefined ? undefined : run(segment));

  if (match(/^\/admin\/api\/decisions\/([^/]+)$/, 'GET')) return withSegment((id) => getDecisions(transport, res, id));
  if (match(/^\/admin\/api\/workers$/, 'GET')) return listWorkers(transport, res);
  if (match(/^\/admin\/api\/workers\/([^/]+)\/drain$/, 'POST')) return withSegment((id) => drainWorker(transport, res, id));
  if (keys) {
    if (match(/^\/admin\/api\/keys$/, 'POST')) return createKey(keys, req, res);
    if (match(/^\/admin\/api\/keys$/, 'GET')) return listKeys(keys, res);
    if (match(/^\/admin\/api\/keys\/([^/]+)$/, 'DELETE')) return withSegment((id) => revokeKey(keys, res, id));
    if (match(/^\/admin\/api\/tenants\/([^/]+)$/, 'PUT')) return withSegment((t) => putTenant(keys, req, res, t));
  }
  sendError(res, { code: ErrorCode.unsupportedUri, retryable: false, message: `no admin route for ${method} ${path}; there are ${routes.join(', ')}` });
}
