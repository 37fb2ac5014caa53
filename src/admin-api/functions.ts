/**
 * The admin API's function lifecycle: functions, their versions, a model's `llmConfig`, deploy and
 * undeploy, and a version's status (its workers as the routers see them). Everything is validated
 * here and stored in the control KV, which every gateway and router watches: a change applies live.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { ErrorCode, type ErrorInfo, LlmuxError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import type { FunctionCatalog } from '../control/function-catalog.js';
import { deploymentSchema, functionRecordSchema, idSchema, llmConfigSchema, modelSpecSchema, versionRecordSchema } from '../control/function.schema.js';
import { readBody } from './body.js';
import { zodError } from '../actors/gateway/request-schema.js';
import { workersFromRouters } from './routing.js';
import { sendError, sendJson } from '../actors/gateway/http-io.js';

const createFunctionSchema = z.object({ id: idSchema, name: z.string().min(1).max(128).optional(), functionType: z.literal('LLM').default('LLM') }).strict();
const createVersionSchema = z.object({ versionId: idSchema, models: z.array(modelSpecSchema).min(1) }).strict();
const deploySchema = deploymentSchema.omit({ deployedAt: true });

const notFound = (message: string): ErrorInfo => ({ code: ErrorCode.notFound, retryable: false, message });
const conflict = (message: string): ErrorInfo => ({ code: ErrorCode.invalidRequest, retryable: false, message });

export async function createFunction(catalog: FunctionCatalog, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req, createFunctionSchema);
  if (body instanceof LlmuxError) return void sendError(res, body.toInfo());
  if (catalog.getFunction(body.id)) return void sendError(res, { ...conflict(`function '${body.id}' already exists`), param: 'id' });
  const record = functionRecordSchema.parse({ id: body.id, name: body.name ?? body.id, functionType: body.functionType, createdAt: new Date().toISOString() });
  await catalog.putFunction(record);
  sendJson(res, 201, record);
}

export function listFunctions(catalog: FunctionCatalog, res: ServerResponse): void {
  sendJson(res, 200, { functions: catalog.functions().map((f) => ({ ...f, versions: catalog.versions(f.id).map((v) => v.versionId) })) });
}

export function getFunction(catalog: FunctionCatalog, res: ServerResponse, id: string): void {
  const fn = catalog.getFunction(id);
  if (!fn) return void sendError(res, notFound(`no function '${id}'`));
  sendJson(res, 200, { ...fn, versions: catalog.versions(id) });
}

export async function deleteFunction(catalog: FunctionCatalog, res: ServerResponse, id: string): Promise<void> {
  if (!catalog.getFunction(id)) return void sendError(res, notFound(`no function '${id}'`));
  await catalog.deleteFunction(id);
  res.writeHead(204).end();
}

export async function createVersion(catalog: FunctionCatalog, req: IncomingMessage, res: ServerResponse, functionId: string): Promise<void> {
  if (!catalog.getFunction(functionId)) return void sendError(res, notFound(`no function '${functionId}'`));
  const body = await readBody(req, createVersionSchema);
  if (body instanceof LlmuxError) return void sendError(res, body.toInfo());
  if (catalog.getVersion(functionId, body.versionId)) return void sendError(res, { ...conflict(`version '${body.versionId}' of '${functionId}' already exists`), param: 'versionId' });
  const names = body.models.map((m) => m.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) return void sendError(res, { ...conflict(`model '${dup}' is listed twice`), param: 'models' });
  const record = versionRecordSchema.parse({ functionId, versionId: body.versionId, models: body.models, createdAt: new Date().toISOString() });
  await catalog.putVersion(record);
  sendJson(res, 201, record);
}

export function listVersions(catalog: FunctionCatalog, res: ServerResponse, functionId: string): void {
  if (!catalog.getFunction(functionId)) return void sendError(res, notFound(`no function '${functionId}'`));
  sendJson(res, 200, { versions: catalog.versions(functionId) });
}

export function getVersion(catalog: FunctionCatalog, res: ServerResponse, functionId: string, versionId: string): void {
  const version = catalog.getVersion(functionId, versionId);
  if (!version) return void sendError(res, notFound(`no version '${versionId}' of function '${functionId}'`));
  sendJson(res, 200, version);
}

/** Merges the body into one model's llmConfig (a field set to null is removed), validated whole. */
export async function updateModel(catalog: FunctionCatalog, req: IncomingMessage, res: ServerResponse, functionId: string, versionId: string, model: string): Promise<void> {
  const version = catalog.getVersion(functionId, versionId);
  if (!version) return void sendError(res, notFound(`no version '${versionId}' of function '${functionId}'`));
  const spec = version.models.find((m) => m.name === model);
  if (!spec) return void sendError(res, notFound(`version '${versionId}' of '${functionId}' has no model '${model}' (it has ${version.models.map((m) => m.name).join(', ')})`));
  const patch = await readBody(req, z.record(z.string(), z.unknown()));
  if (patch instanceof LlmuxError) return void sendError(res, patch.toInfo());
  const merged: Record<string, unknown> = { ...spec.llmConfig };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete merged[k];
    else merged[k] = v;
  }
  const parsed = llmConfigSchema.safeParse(merged);
  if (!parsed.success) return void sendError(res, zodError(parsed.error).toInfo());
  const updated = { ...version, models: version.models.map((m) => (m.name === model ? { ...m, llmConfig: parsed.data } : m)) };
  await catalog.putVersion(updated);
  sendJson(res, 200, updated);
}

export async function deploy(catalog: FunctionCatalog, req: IncomingMessage, res: ServerResponse, functionId: string, versionId: string): Promise<void> {
  const version = catalog.getVersion(functionId, versionId);
  if (!version) return void sendError(res, notFound(`no version '${versionId}' of function '${functionId}'`));
  const body = await readBody(req, deploySchema);
  if (body instanceof LlmuxError) return void sendError(res, body.toInfo());
  const updated = { ...version, deployment: { ...body, deployedAt: new Date().toISOString() } };
  await catalog.putVersion(updated);
  sendJson(res, 200, updated);
}

export async function undeploy(catalog: FunctionCatalog, res: ServerResponse, functionId: string, versionId: string): Promise<void> {
  const version = catalog.getVersion(functionId, versionId);
  if (!version) return void sendError(res, notFound(`no version '${versionId}' of function '${functionId}'`));
  const { deployment: _gone, ...rest } = version;
  await catalog.putVersion(rest);
  sendJson(res, 200, rest);
}

/** Workers of a version as the routers see them: registered, healthy, draining, against the replicas wanted. */
export async function versionStatus(catalog: FunctionCatalog, transport: Transport, res: ServerResponse, functionId: string, versionId: string): Promise<void> {
  const version = catalog.getVersion(functionId, versionId);
  if (!version) return void sendError(res, notFound(`no version '${versionId}' of function '${functionId}'`));
  const { routers, workers: all } = await workersFromRouters(transport);
  const workers = all.filter((w) => w.descriptor.functionId === functionId && w.descriptor.versionId === versionId);
  const healthy = workers.filter((w) => w.load.healthy && w.load.state === 'active' && w.breaker === 'closed').length;
  sendJson(res, 200, {
    functionId, versionId, deployed: version.deployment !== undefined, ...(version.deployment ? { deployment: version.deployment } : {}),
    routersAnswering: routers.length,
    workers: { registered: workers.length, healthy, draining: workers.filter((w) => w.load.state === 'draining').length, wanted: version.deployment?.replicas ?? null },
    list: workers.map((w) => ({ workerId: w.descriptor.workerId, model: w.descriptor.model, cluster: w.descriptor.cluster, state: w.load.state,
      healthy: w.load.healthy, breaker: w.breaker, inFlight: w.inFlight })),
  });
}
