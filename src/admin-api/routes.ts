/**
 * The admin API for backends and routes, and llm-d's admin routing API over them:
 *
 *   PUT/GET/DELETE /admin/api/backends[/<name>]     a backend (its key is never returned)
 *   PUT/GET/DELETE /admin/api/routes[/<name>]       a route
 *   GET    /admin/api/routing                       {model, owned_by, backend} for every route entry
 *   POST   /admin/api/routing                       {model, owned_by, backend}: add or replace that entry
 *   DELETE /admin/api/routing?model=…&owned_by=…    remove it (and its route when it was the last)
 *   POST   /admin/discover                          ask every backend for its models; add an entry for each new one
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { ErrorCode, invalidRequest, LlmuxError } from '../errors.js';
import { isEngineKind } from '../engine-adapters/registry.js';
import type { RouteTable } from '../control/route-table.js';
import { type Backend, backendSchema, type Route, routeSchema } from '../control/route.schema.js';
import { readBody } from './body.js';
import { sendError, sendJson } from '../actors/gateway/http-io.js';

const redact = (b: Backend): Omit<Backend, 'apiKey'> & { apiKey?: string } => (b.apiKey ? { ...b, apiKey: '(set)' } : b);
const notFound = (what: string) => ({ code: ErrorCode.notFound, retryable: false, message: `no ${what}` });

export async function putBackend(routes: RouteTable, req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  const body = await readBody(req, backendSchema.omit({ name: true }));
  if (body instanceof LlmuxError) return void sendError(res, body.toInfo());
  if (!isEngineKind(body.engine)) return void sendError(res, invalidRequest('engine', `unknown engine '${body.engine}'`).toInfo());
  const parsed = backendSchema.safeParse({ ...body, name });
  if (!parsed.success) return void sendError(res, invalidRequest('name', `invalid backend name '${name}'`).toInfo());
  await routes.putBackend(parsed.data);
  sendJson(res, 200, redact(parsed.data));
}

export function listBackends(routes: RouteTable, res: ServerResponse): void {
  sendJson(res, 200, { backends: [...routes.backends.values()].map(redact) });
}

export async function deleteBackend(routes: RouteTable, res: ServerResponse, name: string): Promise<void> {
  if (!routes.backends.has(name)) return void sendError(res, notFound(`backend '${name}'`));
  const users = [...routes.routes.values()].filter((r) => r.backends.some((b) => b.backend === name)).map((r) => r.name);
  if (users.length > 0) return void sendError(res, invalidRequest('name', `backend '${name}' is used by route(s) ${users.join(', ')}; change them first`).toInfo());
  await routes.deleteBackend(name);
  res.writeHead(204).end();
}

export async function putRoute(routes: RouteTable, req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  const body = await readBody(req, routeSchema.omit({ name: true }));
  if (body instanceof LlmuxError) return void sendError(res, body.toInfo());
  const route = routeSchema.safeParse({ ...body, name });
  if (!route.success) return void sendError(res, invalidRequest('name', `invalid route name '${name}'`).toInfo());
  const missing = route.data.backends.findIndex((b) => !routes.backends.has(b.backend));
  if (missing >= 0) return void sendError(res, invalidRequest(`backends.${missing}.backend`, `no backend '${route.data.backends[missing]?.backend}'; create it first (PUT /admin/api/backends/<name>)`).toInfo());
  await routes.putRoute(route.data);
  sendJson(res, 200, route.data);
}

export function listRoutes(routes: RouteTable, res: ServerResponse): void {
  sendJson(res, 200, { routes: [...routes.routes.values()] });
}

export async function deleteRoute(routes: RouteTable, res: ServerResponse, name: string): Promise<void> {
  if (!routes.routes.has(name)) return void sendError(res, notFound(`route '${name}'`));
  await routes.deleteRoute(name);
  res.writeHead(204).end();
}

// llm-d's admin routing API: a flat view of (model, owned_by) → backend over the routes.

export function listRouting(routes: RouteTable, res: ServerResponse): void {
  const entries = [...routes.routes.values()].flatMap((r) => r.match.models.flatMap((model) =>
    r.backends.map((b) => ({ model, owned_by: b.ownedBy ?? b.backend, backend: b.backend, route: r.name }))));
  sendJson(res, 200, { routing: entries });
}

const routingSchema = z.object({ model: z.string().min(1).max(256), owned_by: z.string().min(1).max(128), backend: z.string().min(1) }).strict();

/** The route llm-d's API manages for a model: the one matching exactly that model alone. */
const routeNameFor = (model: string): string => `model-${model.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').slice(0, 48)}`;

async function addEntry(routes: RouteTable, model: string, ownedBy: string, backend: string): Promise<Route> {
  const existing = [...routes.routes.values()].find((r) => r.match.models.length === 1 && r.match.models[0] === model);
  const base: Route = existing ?? routeSchema.parse({ name: routeNameFor(model), match: { models: [model] }, backends: [{ backend, ownedBy }] });
  const route: Route = { ...base, backends: [...base.backends.filter((b) => (b.ownedBy ?? b.backend) !== ownedBy), { backend, ownedBy, weight: 1 }] };
  await routes.putRoute(route);
  return route;
}

export async function postRouting(routes: RouteTable, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req, routingSchema);
  if (body instanceof LlmuxError) return void sendError(res, body.toInfo());
  if (!routes.backends.has(body.backend)) return void sendError(res, invalidRequest('backend', `no backend '${body.backend}'`).toInfo());
  const route = await addEntry(routes, body.model, body.owned_by, body.backend);
  sendJson(res, 200, { model: body.model, owned_by: body.owned_by, backend: body.backend, route: route.name });
}

export async function deleteRouting(routes: RouteTable, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const query = new URL(req.url ?? '/', 'http://gateway').searchParams;
  const model = query.get('model');
  const ownedBy = query.get('owned_by');
  if (!model) return void sendError(res, invalidRequest('model', 'give ?model=…&owned_by=…').toInfo());
  if (!ownedBy) return void sendError(res, invalidRequest('owned_by', 'give ?model=…&owned_by=…').toInfo());
  const route = [...routes.routes.values()].find((r) => r.match.models.includes(model) && r.backends.some((b) => (b.ownedBy ?? b.backend) === ownedBy));
  if (!route) return void sendError(res, notFound(`routing entry for model '${model}' owned by '${ownedBy}'`));
  const backends = route.backends.filter((b) => (b.ownedBy ?? b.backend) !== ownedBy);
  if (backends.length === 0) await routes.deleteRoute(route.name);
  else await routes.putRoute({ ...route, backends });
  res.writeHead(204).end();
}

/** Asks each backend for its models (GET <url>/v1/models) and adds a routing entry for each one not routed yet. */
export async function discover(routes: RouteTable, res: ServerResponse): Promise<void> {
  const results = await Promise.all([...routes.backends.values()].map(async (b) => {
    try {
      const r = await fetch(`${b.url.replace(/\/+$/, '')}/v1/models`, {
        headers: b.apiKey ? { authorization: `Bearer ${b.apiKey}` } : {}, signal: AbortSignal.timeout(5_000),
      });
      if (!r.ok) return { backend: b.name, error: `GET /v1/models answered ${r.status}` };
      const models = ((await r.json()) as { data?: Array<{ id?: unknown }> }).data?.map((m) => m.id).filter((id): id is string => typeof id === 'string') ?? [];
      const added: string[] = [];
      for (const model of models) {
        const routed = [...routes.routes.values()].some((rt) => rt.match.models.includes(model) && rt.backends.some((x) => x.backend === b.name));
        if (!routed) {
          await addEntry(routes, model, b.name, b.name);
          added.push(model);
        }
      }
      return { backend: b.name, models, added };
    } catch (error) {
      return { backend: b.name, error: (error as Error).message };
    }
  }));
  sendJson(res, 200, { discovered: results });
}
