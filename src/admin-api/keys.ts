/**
 * The admin API's key part: create (`POST /admin/api/keys`, the secret is in this answer only),
 * list (`GET /admin/api/keys`, no secrets), revoke (`DELETE /admin/api/keys/<key-id>`), and tenant
 * limits (`PUT /admin/api/tenants/<tenant>`). Bodies are validated; a 400 names the field.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, invalidRequest, LlmuxError } from '../errors.js';
import { type ApiKeyStore, apiKeyRecordSchema, tenantRecordSchema } from '../policy/api-key-store.js';
import { readBody } from './body.js';
import { sendError, sendJson } from '../actors/gateway/http-io.js';

const createKeySchema = apiKeyRecordSchema.pick({ tenant: true, functions: true, name: true, tokenRateLimit: true, requestRateLimit: true, debug: true })
  .extend({ functions: apiKeyRecordSchema.shape.functions.default(['*']) }).strict();

export async function createKey(keys: ApiKeyStore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const fields = await readBody(req, createKeySchema);
  if (fields instanceof LlmuxError) return void sendError(res, fields.toInfo());
  const { secret, record } = await keys.create(fields);
  sendJson(res, 201, { ...record, key: secret });
}

export function listKeys(keys: ApiKeyStore, res: ServerResponse): void {
  sendJson(res, 200, { keys: keys.list() });
}

export async function revokeKey(keys: ApiKeyStore, res: ServerResponse, keyId: string): Promise<void> {
  if (!(await keys.revoke(keyId))) return void sendError(res, { code: ErrorCode.notFound, retryable: false, message: `no API key '${keyId}'` });
  res.writeHead(204).end();
}

export async function putTenant(keys: ApiKeyStore, req: IncomingMessage, res: ServerResponse, tenant: string): Promise<void> {
  const fields = await readBody(req, tenantRecordSchema.omit({ tenant: true }));
  if (fields instanceof LlmuxError) return void sendError(res, fields.toInfo());
  const record = tenantRecordSchema.safeParse({ ...fields, tenant });
  if (!record.success) return void sendError(res, invalidRequest('tenant', `invalid tenant id '${tenant}': ${record.error.issues[0]?.message ?? ''}`).toInfo());
  await keys.putTenant(record.data);
  sendJson(res, 200, record.data);
}
