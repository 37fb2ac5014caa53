/**
 * The engine simulator: a vLLM-compatible OpenAI server that tests and benchmarks use in place of a
 * GPU engine. It speaks vLLM's wire format (wire.ts), answers deterministically with exactly
 * `max_tokens` tokens (generation.ts), queues beyond `maxConcurrency` (scheduler.ts), stops when the
 * client goes away (serve-generation.ts), exposes vLLM's metric names (sim-metrics.ts) and fails on
 * request (faults.ts). Plain node:http: the simulator must not be the slow part of a benchmark.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Scheduler } from './scheduler.js';
import { type GenerationContext, sendJson, serveGeneration } from './serve-generation.js';
import { newCounters, renderMetrics } from './sim-metrics.js';
import { parseJsonBody, parseSimRequest, SimBadRequest, type SimOperation } from './sim-request.js';
import { errorBody, methodNotAllowedBody, modelList, notFoundBody } from './wire.js';

export interface SimOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Time to first token, ms. Default 0. */
  ttftMs?: number;
  /** Time between tokens, ms. Default 0 (still one event-loop turn per token). */
  itlMs?: number;
  /** Requests generating at once; the rest wait in FIFO order. Default 64. */
  maxConcurrency?: number;
  /** Names listed by /v1/models (default one made-up name); requests for any model are served. */
  models?: string[];
  /** Tokens generated when a request gives no limit, ending with finish_reason "stop". Default 16. */
  defaultMaxTokens?: number;
}

export interface SimStats {
  /** Generation requests that passed validation, fault directives included. */
  requestsTotal: number;
  /** Requests whose client went away before the answer was complete, queued or generating. */
  aborted: number;
  running: number;
  waiting: number;
  /** requestsTotal by the model name the client sent (the first served name when it sent none). */
  byModel: Record<string, number>;
  /** The last generation request body that parsed as JSON, valid or not. */
  lastRequestBody: unknown;
}

export interface SimServer {
  /** http://host:port, without a trailing slash. */
  url: string;
  port: number;
  stats(): SimStats;
  /** Stops listening and closes every connection, in-flight answers included. */
  close(): Promise<void>;
  /** The same as close(), for callers that stop every part of a stack alike. */
  stop(): Promise<void>;
}

const DEFAULT_MODEL = 'llmux-sim-8b';
const MAX_MODEL_LEN = 8192;
/**
 * Longer than any client's idle timeout (undici's default is 4 s), so the client, never the
 * simulator, closes an idle connection: a client cannot pick a socket the server is closing.
 */
const KEEP_ALIVE_TIMEOUT_MS = 60_000;

const routes: Record<string, { method: 'GET' | 'POST'; operation?: SimOperation }> = {
  '/v1/chat/completions': { method: 'POST', operation: 'chat' },
  '/v1/completions': { method: 'POST', operation: 'completion' },
  '/v1/models': { method: 'GET' },
  '/health': { method: 'GET' },
  '/metrics': { method: 'GET' },
};

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startSim(options: SimOptions = {}): Promise<SimServer> {
  const models = options.models?.length ? [...options.models] : [DEFAULT_MODEL];
  const servedModel = models[0] ?? DEFAULT_MODEL;
  const scheduler = new Scheduler(options.maxConcurrency ?? 64);
  const counters = newCounters();
  const ctx: GenerationContext = {
    scheduler,
    counters,
    ttftMs: options.ttftMs ?? 0,
    itlMs: options.itlMs ?? 0,
    defaultMaxTokens: options.defaultMaxTokens ?? 16,
  };
  let requestsTotal = 0;
  let lastRequestBody: unknown;

  const generate = async (operation: SimOperation, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = parseJsonBody(await readText(req));
    lastRequestBody = body;
    const request = parseSimRequest(operation, body);
    const model = request.model ?? servedModel;
    requestsTotal++;
    counters.requestsByModel.set(model, (counters.requestsByModel.get(model) ?? 0) + 1);
    await serveGeneration(ctx, request, model, res);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes[path];
    if (!route) return sendJson(res, 404, notFoundBody);
    // HEAD is answered like GET (node drops the body), as Starlette does for GET routes.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (method !== route.method) return sendJson(res, 405, methodNotAllowedBody);
    if (route.operation) return generate(route.operation, req, res);
    switch (path) {
      case '/v1/models':
        return sendJson(res, 200, modelList(models, MAX_MODEL_LEN));
      case '/health':
        res.writeHead(200, { 'content-length': 0 }).end();
        return;
      case '/metrics': {
        const gauges = { running: scheduler.running, waiting: scheduler.waiting, kvCacheUsage: scheduler.running / scheduler.capacity };
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(renderMetrics(servedModel, counters, gauges));
        return;
      }
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return void res.destroy();
      if (error instanceof SimBadRequest) return sendJson(res, 400, errorBody(error.message, 'BadRequestError', 400, error.param));
      sendJson(res, 500, errorBody(error instanceof Error ? error.message : String(error), 'InternalServerError', 500));
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    stats: () => ({
      requestsTotal,
      aborted: counters.aborted,
      running: scheduler.running,
      waiting: scheduler.waiting,
      byModel: Object.fromEntries(counters.requestsByModel),
      lastRequestBody,
    }),
    close,
    stop: close,
  };
}
