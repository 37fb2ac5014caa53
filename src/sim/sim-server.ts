/**
 * The engine simulator: an HTTP server that tests and benchmarks use in place of a GPU engine. It
 * speaks one engine's wire format (formats/: vLLM by default, or SGLang, TGI, Triton, Ollama, OpenAI,
 * Azure, Anthropic…), answers deterministically with exactly `max_tokens` tokens (generation.ts),
 * paced by one of two timings (timing.ts: fixed latencies with `maxConcurrency` slots, or the
 * stepped engine of engine.ts with KV blocks, preemption and vLLM's KV events on ZeroMQ), stops when
 * the client goes away
 * (serve-generation.ts), continues a partial answer exactly as it would have generated it
 * (continuation.ts), exposes the engine's metric names and fails on request (faults.ts). Plain
 * node:http: the simulator must not be the slow part of a benchmark.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simFormat } from './formats/index.js';
import { type EmbedRoute, matchRoute, type Reply } from './formats/sim-format.js';
import { defaultEmbeddingDimensions, embedAll } from './embeddings.js';
import { encodeEventBatch, seqBytes } from '../kv-events/vllm-events.js';
import { bindReplayServer, type ReplayServer } from '../kv-events/replay.js';
import { bindPublisher, type ZmqPublisher } from '../kv-events/zmq-pub.js';
import { defaultEngineModel, type EngineModel, SimEngine } from './engine.js';
import { PrefixCache } from './prefix-cache.js';
import { Scheduler } from './scheduler.js';
import { type GenerationContext, sendJson, serveGeneration } from './serve-generation.js';
import { engineTiming, fixedTiming, type Timing } from './timing.js';
import { newCounters } from './sim-metrics.js';
import { parseJsonBody, SimBadRequest } from './sim-request.js';
import { methodNotAllowedBody } from './wire.js';

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
  /** The engine whose wire format to speak (src/sim/formats/): vllm, sglang, tgi, triton, ollama, … Default vllm. */
  format?: string;
  /** Formats of remote providers (openai, azure-openai, anthropic) then require this key, as the provider would. */
  apiKey?: string;
  /** Vector size of the simulated embedding model (embeddings.ts). Default 768. */
  embeddingDimensions?: number;
  /** Prefix cache size in 64-character blocks (prefix-cache.ts); 0 turns it off. Default 4096. */
  prefixCacheBlocks?: number;
  /** Time to first token of a fully cached prompt, as a share of ttftMs. Default 0.1. */
  cachedTtftFraction?: number;
  /**
   * `fixed` (the default): ttftMs, itlMs, maxConcurrency slots and the character-block prefix cache.
   * `engine`: the stepped engine (engine.ts, docs/simulator.md); ttftMs, itlMs, prefixCacheBlocks and
   * cachedTtftFraction do not apply, and maxConcurrency, when given, is its maxNumSeqs.
   */
  timing?: 'fixed' | 'engine';
  /** Engine timing: the model, over defaultEngineModel (Llama-3.1-8B on one H100). */
  engine?: Partial<EngineModel>;
  /**
   * Engine timing: publish vLLM's KV events on a ZeroMQ PUB socket bound to this port on `host`
   * (0: a free one), as `vllm serve --kv-events-config '{"enable_kv_cache_events":true,
   * "publisher":"zmq","endpoint":"tcp://*:PORT","topic":"kv-events"}'` does. Off when absent.
   */
  kvEventsPort?: number;
  /** The topic (first part) of each KV event message. Default `kv-events`. */
  kvEventsTopic?: string;
  /** With kvEventsPort: also answer replay requests on this port (vLLM's `replay_endpoint`, a ROUTER; 0: a free one). */
  kvEventsReplayPort?: number;
  /** The struct layout of the payload (kv-events/vllm-events.ts). Default `array`. */
  kvEventsLayout?: 'array' | 'map';
}

export interface SimStats {
  /** Generation requests that passed validation, fault directives included. */
  requestsTotal: number;
  /** Embeddings requests that passed validation. */
  embeddingRequests: number;
  /** Requests whose client went away before the answer was complete, queued or generating. */
  aborted: number;
  running: number;
  waiting: number;
  /** requestsTotal by the model name the client sent (the first served name when it sent none). */
  byModel: Record<string, number>;
  /** The last generation request body that parsed as JSON, valid or not. */
  lastRequestBody: unknown;
  /** Prompt tokens looked up in the prefix cache, and those found there (vLLM's prefix_cache_* counters). */
  prefixCache: { queries: number; hits: number };
  /** Continuations of a partial answer (continuation.ts); `inexact`: the partial was not the simulator's own text. */
  continuations: { exact: number; inexact: number };
  /** Engine timing: sequences preempted for KV blocks. */
  preemptions: number;
  /** Engine timing: the share of KV blocks in use, and full blocks held in the prefix cache. */
  kv?: { usage: number; cachedBlocks: number; blockSize: number };
}

export interface SimServer {
  /** http://host:port, without a trailing slash. */
  url: string;
  port: number;
  /** With kvEventsPort: where the KV events are published, tcp://host:port. */
  kvEvents?: {
    endpoint: string;
    topic: string;
    subscribers: () => number;
    /** With kvEventsReplayPort: the replay socket, tcp://host:port. */
    replayEndpoint?: string;
    /** For tests: the next batch is recorded for replay but not sent, as if lost on the way. */
    dropNext: () => void;
  };
  stats(): SimStats;
  /** Stops listening and closes every connection, in-flight answers included. */
  close(): Promise<void>;
  /** The same as close(), for callers that stop every part of a stack alike. */
  stop(): Promise<void>;
}

const DEFAULT_MODEL = 'llmux-sim-8b';
/**
 * Longer than any client's idle timeout (undici's default is 4 s), so the client, never the
 * simulator, closes an idle connection: a client cannot pick a socket the server is closing.
 */
const KEEP_ALIVE_TIMEOUT_MS = 60_000;

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startSim(options: SimOptions = {}): Promise<SimServer> {
  const format = simFormat(options.format ?? 'vllm');
  const models = options.models?.length ? [...options.models] : [DEFAULT_MODEL];
  const servedModel = models[0] ?? DEFAULT_MODEL;
  const counters = newCounters();
  const host = options.host ?? '127.0.0.1';
  if (options.kvEventsPort !== undefined && options.timing !== 'engine') throw new Error('KV events need the engine timing (timing: engine)');
  let publisher: ZmqPublisher | undefined;
  let replayServer: ReplayServer | undefined;
  let dropKvEvents = 0;
  let engine: SimEngine | undefined;
  let timing: Timing;
  const kvEventsTopic = options.kvEventsTopic ?? 'kv-events';
  if (options.timing === 'engine') {
    if (options.kvEventsPort !== undefined) publisher = await bindPublisher({ host, port: options.kvEventsPort });
    if (publisher && options.kvEventsReplayPort !== undefined) replayServer = await bindReplayServer({ host, port: options.kvEventsReplayPort });
    const pub = publisher;
    const replay = replayServer;
    const topic = Buffer.from(kvEventsTopic, 'utf8');
    let seq = 0n;
    const model = { ...defaultEngineModel, ...options.engine, ...(options.maxConcurrency !== undefined ? { maxNumSeqs: options.maxConcurrency } : {}) };
    engine = new SimEngine(model, counters, pub ? (events) => {
      const payload = encodeEventBatch(Date.now() / 1000, events, options.kvEventsLayout);
      replay?.record(seq, payload);
      if (dropKvEvents > 0) dropKvEvents--;
      else pub.send([topic, seqBytes(seq), payload]);
      seq++;
    } : undefined);
    timing = engineTiming(engine);
  } else {
    timing = fixedTiming({
      scheduler: new Scheduler(options.maxConcurrency ?? 64),
      prefixCache: new PrefixCache(options.prefixCacheBlocks ?? 4096),
      counters,
      ttftMs: options.ttftMs ?? 0,
      itlMs: options.itlMs ?? 0,
      cachedTtftFraction: options.cachedTtftFraction ?? 0.1,
    });
  }
  const ctx: GenerationContext = { timing, counters, defaultMaxTokens: options.defaultMaxTokens ?? 16 };
  let requestsTotal = 0;
  let lastRequestBody: unknown;

  const send = (res: ServerResponse, reply: Reply): void => {
    if (typeof reply.body === 'string') {
      res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/plain', 'content-length': Buffer.byteLength(reply.body), ...reply.headers }).end(reply.body);
    } else {
      for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
      sendJson(res, reply.status, reply.body);
    }
  };

  const embeddingDims = options.embeddingDimensions ?? defaultEmbeddingDimensions;
  let embeddingRequests = 0;
  const embed = (route: EmbedRoute, pathModel: string | undefined, body: Record<string, unknown>, res: ServerResponse): void => {
    lastRequestBody = body;
    let reply: Reply;
    try {
      const request = route.parse(body, pathModel);
      const model = pathModel ?? request.model ?? servedModel;
      embeddingRequests++;
      counters.requestsByModel.set(model, (counters.requestsByModel.get(model) ?? 0) + 1);
      reply = route.refuse?.(request)
        ?? (request.fail ? route.dialect.failure('simulated failure ([[sim:fail]])') : route.answer(embedAll(request, embeddingDims), model, body));
    } catch (error) {
      if (!(error instanceof SimBadRequest)) throw error;
      reply = route.dialect.badRequest(error.message, error.param);
    }
    send(res, reply);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const refused = format.check?.(req.headers, url.searchParams, options.apiKey);
    if (refused) return send(res, refused);
    // HEAD is answered like GET (node drops the body), as Starlette does for GET routes.
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const match = matchRoute(format, method, url.pathname);
    if (match === undefined) return send(res, format.notFound);
    if (match === 'wrong-method') return sendJson(res, 405, methodNotAllowedBody);
    const { route, pathModel } = match;
    if (route.respond) {
      return send(res, route.respond({ models, servedModel, counters, gauges: timing.gauges() }));
    }
    if (route.embed) return embed(route.embed, pathModel, parseJsonBody(await readText(req)), res);
    if (!route.generate) return send(res, format.notFound);
    const body = parseJsonBody(await readText(req));
    lastRequestBody = body;
    let request;
    try {
      request = route.generate.parse(body, pathModel);
    } catch (error) {
      if (error instanceof SimBadRequest) return send(res, route.generate.dialect.badRequest(error.message, error.param));
      throw error;
    }
    const model = pathModel ?? request.model ?? servedModel;
    requestsTotal++;
    counters.requestsByModel.set(model, (counters.requestsByModel.get(model) ?? 0) + 1);
    if (request.prompt.continues) counters.continuations[request.prompt.continues.exact ? 'exact' : 'inexact']++;
    await serveGeneration(ctx, route.generate.dialect, request, model, res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return void res.destroy();
      if (error instanceof SimBadRequest) return send(res, format.errors.badRequest(error.message, error.param));
      send(res, format.errors.failure(error instanceof Error ? error.message : String(error)));
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    engine?.close();
    closing ??= Promise.all([
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
      publisher?.close(),
      replayServer?.close(),
    ]).then(() => undefined);
    return closing;
  };

  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    ...(publisher ? {
      kvEvents: {
        endpoint: `tcp://${urlHost}:${publisher.port}`, topic: kvEventsTopic, subscribers: () => (publisher as ZmqPublisher).subscribed,
        ...(replayServer ? { replayEndpoint: `tcp://${urlHost}:${replayServer.port}` } : {}),
        dropNext: () => void dropKvEvents++,
      },
    } : {}),
    stats: () => ({
      requestsTotal,
      embeddingRequests,
      aborted: counters.aborted,
      running: timing.gauges().running,
      waiting: timing.gauges().waiting,
      byModel: Object.fromEntries(counters.requestsByModel),
      lastRequestBody,
      prefixCache: { queries: counters.prefixCacheQueries, hits: counters.prefixCacheHits },
      continuations: { ...counters.continuations },
      preemptions: counters.preemptions,
      ...(engine ? { kv: { usage: engine.kv.usage, cachedBlocks: engine.kv.cachedBlocks, blockSize: engine.model.blockSize } } : {}),
    }),
    close,
    stop: close,
  };
}
