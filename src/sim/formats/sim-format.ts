/** What a simulator format is: an engine's routes, with the dialect each generation route answers in. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dialect } from '../dialect.js';
import type { SimCounters, SimGauges } from '../sim-metrics.js';
import type { SimEmbedRequest } from '../embeddings.js';
import type { SimRequest } from '../sim-request.js';

export type Body = Record<string, unknown>;
export type Reply = { status: number; body: unknown; contentType?: string; headers?: Record<string, string> };

export interface RouteEnv {
  models: readonly string[];
  servedModel: string;
  counters: SimCounters;
  gauges: SimGauges;
}

export interface GenerateRoute {
  dialect: Dialect;
  /** The request as the simulator sees it; `pathModel` is the model named in the path, if any. Throws SimBadRequest. */
  parse(body: Body, pathModel: string | undefined): SimRequest;
}

/** An embeddings route: the request, and the engine's answer for the simulator's vectors. */
export interface EmbedRoute {
  /** Its errors (bad request, refusal). */
  dialect: Dialect;
  /** Throws SimBadRequest. */
  parse(body: Body, pathModel: string | undefined): SimEmbedRequest;
  /** A refusal of a well-formed request (TEI's 413 for too big a batch). */
  refuse?(request: SimEmbedRequest): Reply | undefined;
  answer(result: { vectors: number[][]; tokens: number }, model: string, body: Body): Reply;
}

export interface SimRoute {
  method: 'GET' | 'POST';
  /** An exact path, or a pattern whose first group (if any) names the model. */
  path: string | RegExp;
  generate?: GenerateRoute;
  embed?: EmbedRoute;
  respond?(env: RouteEnv): Reply;
}

export interface SimFormat {
  name: string;
  routes: SimRoute[];
  /** The engine's answer to an unknown path. */
  notFound: Reply;
  /** A refusal when the request lacks what the engine requires (its key, a version header, a query parameter). */
  check?(headers: IncomingHttpHeaders, query: URLSearchParams, apiKey: string | undefined): Reply | undefined;
  /** The dialect for errors outside a generation route. */
  errors: Dialect;
}

/** A generation route's model: the path's, else the body's `model`. */
export function matchRoute(format: SimFormat, method: string, path: string): { route: SimRoute; pathModel: string | undefined } | 'wrong-method' | undefined {
  let wrongMethod = false;
  for (const route of format.routes) {
    let pathModel: string | undefined;
    if (typeof route.path === 'string') {
      if (route.path !== path) continue;
    } else {
      const m = route.path.exec(path);
      if (!m) continue;
      pathModel = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    }
    if (route.method !== method) {
      wrongMethod = true;
      continue;
    }
    return { route, pathModel };
  }
  return wrongMethod ? 'wrong-method' : undefined;
}

export const text = (body: string, contentType = 'text/plain; charset=utf-8'): Reply => ({ status: 200, body, contentType });
export const metricsReply = (body: string): Reply => text(body, 'text/plain; version=0.0.4; charset=utf-8');
