/**
 * The engine simulator: a vLLM-compatible OpenAI server for tests and benchmarks without a GPU.
 * Deterministic output, exactly `max_tokens` tokens when given, a scheduler with a waiting queue
 * beyond `maxConcurrency`, generation aborted when the client goes away, vLLM's `/metrics` names,
 * and fault directives (faults.ts) to exercise failure paths.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { faultIn } from './faults.js';
import { countPromptTokens, promptText, seedOf, tokenAt } from './generation.js';
import { Scheduler } from './scheduler.js';
import { newCounters, renderMetrics } from './sim-metrics.js';
import { chunk, done, errorBody, fullResponse, newGeneration, type SimOperation, usageChunk } from './wire.js';

export interface SimOptions {
  port?: number;
  host?: string;
  ttftMs?: number;
  itlMs?: number;
  maxConcurrency?: number;
  /** Names listed by /v1/models; requests for any model are served and counted by name. */
  models?: string[];
  /** Tokens generated when a request gives no max_tokens. */
  defaultMaxTokens?: number;
}

export interface SimStats {
  requestsTotal: number;
  aborted: number;
  running: number;
  waiting: number;
  byModel: Record<string, number>;
  lastRequestBody: unknown;
}

export interface SimServer {
  url: string;
  port: number;
  stats(): SimStats;
  close(): Promise<void>;
  stop(): Promise<void>;
}

class BadRequest extends Error {
  constructor(message: string, readonly param: string | null = null) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest('invalid JSON body');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadRequest('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function maxTokensOf(body: Record<string, unknown>): number | undefined {
  const value = body.max_tokens ?? body.max_completion_tokens;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new BadRequest('max_tokens must be a positive integer', 'max_tokens');
  }
  return value;
}

function validate(operation: SimOperation, body: Record<string, unknown>): void {
  if (operation === 'chat' && (!Array.isArray(body.messages) || body.messages.length === 0)) {
    throw new BadRequest('messages must be a non-empty list', 'messages');
  }
  if (operation === 'completion' && body.prompt === undefined) throw new BadRequest('prompt is required', 'prompt');
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw new BadRequest('the simulator supports n=1 only', 'n');
}

export async function startSim(options: SimOptions = {}): Promise<SimServer> {
  const ttftMs = options.ttftMs ?? 0;
  const itlMs = options.itlMs ?? 0;
  const scheduler = new Scheduler(options.maxConcurrency ?? 64);
  const models = options.models?.length ? options.models : ['llmux-sim-8b'];
  const counters = newCounters();
  let requestsTotal = 0;
  let lastRequestBody: unknown;

  const generate = async (req: IncomingMessage, res: ServerResponse, operation: SimOperation): Promise<void> => {
    const body = await readBody(req);
    validate(operation, body);
    const maxTokens = maxTokensOf(body);
    const model = typeof body.model === 'string' ? body.model : (models[0] as string);
    requestsTotal++;
    lastRequestBody = body;
    counters.requestsByModel.set(model, (counters.requestsByModel.get(model) ?? 0) + 1);
    const prompt = promptText(body);
    const fault = faultIn(prompt);
    if (fault.type === 'fail') {
      send(res, 500, errorBody('simulated engine failure ([[sim:fail]])', 'InternalServerError', 500));
      return;
    }

    const abort = new AbortController();
    let cut = false; // a simulated engine fault, not a client going away
    res.on('close', () => {
      if (!res.writableFinished && !cut) abort.abort();
    });
    if (!(await scheduler.acquire(abort.signal))) {
      counters.aborted++;
      counters.success.abort++;
      return;
    }
    const tokens = maxTokens ?? options.defaultMaxTokens ?? 16;
    const finish = maxTokens !== undefined ? 'length' : 'stop';
    const promptTokens = countPromptTokens(body);
    const seed = seedOf(prompt);
    const g = newGeneration(operation, model);
    const stream = body.stream === true;
    const includeUsage = stream && (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    let produced = 0;
    try {
      if (ttftMs > 0) await sleep(ttftMs, undefined, { signal: abort.signal });
      if (stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
        if (operation === 'chat') res.write(chunk(g, { role: true }, includeUsage));
        for (let i = 0; i < tokens; i++) {
          if (abort.signal.aborted) break;
          if (fault.type === 'cut-after' && i === fault.tokens) {
            cut = true;
            res.destroy();
            return;
          }
          res.write(chunk(g, { text: tokenAt(seed, i), finish: i === tokens - 1 ? finish : null }, includeUsage));
          produced++;
          if (itlMs > 0) await sleep(itlMs, undefined, { signal: abort.signal });
          else await new Promise((r) => setImmediate(r)); // let a client disconnect be noticed
        }
        if (abort.signal.aborted) return;
        if (includeUsage) res.write(usageChunk(g, { prompt_tokens: promptTokens, completion_tokens: produced, total_tokens: promptTokens + produced }));
        res.end(done);
      } else {
        if (fault.type === 'cut-after') {
          cut = true;
          res.destroy();
          return;
        }
        let text = '';
        for (let i = 0; i < tokens; i++) text += tokenAt(seed, i);
        produced = tokens;
        if (itlMs > 0) await sleep(itlMs * tokens, undefined, { signal: abort.signal });
        send(res, 200, fullResponse(g, text, finish, { prompt_tokens: promptTokens, completion_tokens: tokens, total_tokens: promptTokens + tokens }));
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    } finally {
      scheduler.release();
      counters.promptTokens += promptTokens;
      counters.generationTokens += produced;
      if (abort.signal.aborted) {
        counters.aborted++;
        counters.success.abort++;
      } else if (res.writableFinished) {
        counters.success[finish]++;
      }
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && path === '/v1/chat/completions') return generate(req, res, 'chat');
    if (req.method === 'POST' && path === '/v1/completions') return generate(req, res, 'completion');
    if (req.method === 'GET' && path === '/v1/models') {
      const created = Math.floor(Date.now() / 1000);
      return send(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created, owned_by: 'vllm', root: id, parent: null, max_model_len: 8192 })) });
    }
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-length': 0 });
      return void res.end();
    }
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      const kvUsage = scheduler.running / scheduler.maxConcurrency;
      return void res.end(renderMetrics(counters, { running: scheduler.running, waiting: scheduler.waiting, kvUsage }, models[0] as string));
    }
    send(res, 404, errorBody(`no route for ${req.method} ${path}`, 'NotFoundError', 404));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (error instanceof BadRequest) return send(res, 400, errorBody(error.message, 'BadRequestError', 400, error.param));
      send(res, 500, errorBody(error instanceof Error ? error.message : String(error), 'InternalServerError', 500));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  const close = (): Promise<void> => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return {
    url,
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
