/**
 * Which HTTP layer for the gateway: node:http or fastify 5? (docs/decisions/0001-http-layer.md)
 *
 * Each layer serves `POST /v1/chat/completions` from its own child process (this same file, forked
 * with a role argument, so the load generator never shares a server's event loop) and does the
 * gateway's work in miniature: parse a ~1 KB JSON chat request, check it, watch for the client
 * leaving, then answer either a ~600 B JSON completion or, when `"stream": true`, an SSE stream of
 * 16 ~205 B (vLLM-sized) `data:` events, one per event-loop turn with backpressure, then `data: [DONE]`. Both
 * layers share every line of that work except what the layer itself does (routing, body reading and
 * parsing, reply serialization), so the difference measured is the layer's.
 *
 * This process first checks both servers answer alike (JSON, SSE, 400, and that a client leaving
 * mid-stream is noticed), then drives each with the same closed-loop undici load, after a warm-up,
 * alternating which goes first each round (A B, B A, …) so drift hits both alike. It reports req/s,
 * p50/p99 latency and server CPU per request, and fastify / node:http ratios, as a table on stdout
 * and as JSON in bench/results/http-layer-<timestamp>.json; progress goes to stderr.
 *
 *   npm run bench:http-layer [-- --json-requests 20000 --sse-requests 6000 --warmup 0.5 --concurrency 32 --rounds 6]
 *   (requests are per server, case and round; --warmup is a fraction of that, run once per server and case)
 *   node dist/bench/http-layer.js serve node-http|fastify      (one server alone, prints its URL)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';
import { benchArgs, count, numberReader } from './lib/cli-args.js';
import { alternatingOrder, type LoadResult, runLoad } from './lib/load.js';
import { fmt, fmtRatio, formatMarkdownTable, formatTable, machineInfo, progress, writeResults } from './lib/report.js';
import { median, summarize, type Summary } from './lib/stats.js';

// ---------------------------------------------------------------------------------------------
// The gateway's work in miniature, shared by both servers.

const PATH = '/v1/chat/completions';
const MODEL = 'demo/llmux-sim-8b';
const CHUNKS = 16;
/** fastify's default body limit, applied to node:http too. */
const BODY_LIMIT = 1024 * 1024;
/** Header asking the server to wait this long before each SSE event (the disconnect probe). */
const DELAY_HEADER = 'x-bench-chunk-delay-ms';

const chatRequest = (stream: boolean): string =>
  JSON.stringify({
    model: MODEL,
    stream,
    max_tokens: 64,
    temperature: 0.7,
    messages: [
      { role: 'system', content: 'You are a helpful assistant. Answer briefly and precisely. '.repeat(5) },
      { role: 'user', content: 'Summarize the following paragraph in one sentence: '.concat('lorem ipsum dolor sit amet '.repeat(22)) },
    ],
  });

function checkChatRequest(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') return '`model` must be a non-empty string';
  if (!Array.isArray(b.messages) || b.messages.length === 0) return '`messages` must be a non-empty array';
  return undefined;
}

const errorBody = (status: number, message: string) => ({
  error: { message, type: status === 404 || status === 405 ? 'not_found_error' : 'invalid_request_error', param: null, code: null },
});

const completionId = (n: number): string => `chatcmpl-${n.toString(16).padStart(24, '0')}`;

/** A ~600 B chat completion (serialized by the layer: JSON.stringify in both). */
const completion = (n: number) => ({
  id: completionId(n),
  object: 'chat.completion',
  created: 1763800000,
  model: MODEL,
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'The paragraph repeats a placeholder phrase. '.repeat(7).trim() },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 212, completion_tokens: 64, total_tokens: 276 },
});

/** One ~205 B SSE event carrying one token (the size of a vLLM chunk). */
const sseEvent = (n: number, i: number): string =>
  `data: ${JSON.stringify({
    id: completionId(n),
    object: 'chat.completion.chunk',
    created: 1763800000,
    model: MODEL,
    choices: [{ index: 0, delta: { content: ` tok${i}` }, finish_reason: null }],
  })}\n\n`;

interface ServerCounters {
  requests: number;
  disconnects: number;
}
const counters: ServerCounters = { requests: 0, disconnects: 0 };

interface Connection {
  readonly gone: boolean;
}

/** Notices the client leaving before the answer is complete (the gateway then cancels the engine request). */
function watchDisconnect(res: ServerResponse): Connection {
  const state = { gone: false };
  res.once('close', () => {
    if (!res.writableFinished) {
      state.gone = true;
      counters.disconnects++;
    }
  });
  return state;
}

function waitDrainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * The SSE answer, on the raw response in both layers: tokens arrive one per event-loop turn (as
 * frames from the engine would), each write respects backpressure, and a client that left stops it.
 */
async function streamSse(res: ServerResponse, conn: Connection, n: number, delayMs: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  for (let i = 0; i < CHUNKS; i++) {
    await (delayMs > 0 ? sleep(delayMs) : nextTurn());
    if (conn.gone) return;
    if (!res.write(sseEvent(n, i))) await waitDrainOrClose(res);
  }
  if (!conn.gone) res.end('data: [DONE]\n\n');
}

const delayOf = (req: IncomingMessage): number => Number(req.headers[DELAY_HEADER] ?? 0) || 0;

// ---------------------------------------------------------------------------------------------
// The two servers.

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** Reads a JSON body with `data`/`end` listeners (faster than `for await` over the request). */
function readJson(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: { ok: true; value: unknown } | { ok: false; status: number; message: string }): void => {
      if (!done) {
        done = true;
        resolve(r);
      }
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) finish({ ok: false, status: 413, message: 'request body too large' });
      else if (!done) chunks.push(chunk);
    });
    req.on('error', () => finish({ ok: false, status: 400, message: 'the request body could not be read' }));
    req.on('end', () => {
      const text = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
      try {
        finish({ ok: true, value: JSON.parse(text) as unknown });
      } catch (error) {
        finish({ ok: false, status: 400, message: `the body is not valid JSON: ${(error as Error).message}` });
      }
    });
  });
}

async function serveNodeHttp(): Promise<number> {
  const server = createServer((req, res) => {
    const n = ++counters.requests;
    const conn = watchDisconnect(res);
    if (req.url !== PATH) return sendJson(res, 404, errorBody(404, `no route ${req.method} ${req.url}`));
    if (req.method !== 'POST') return sendJson(res, 405, errorBody(405, 'use POST'));
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return sendJson(res, 415, errorBody(415, 'send application/json'));
    }
    void readJson(req).then(async (body) => {
      if (conn.gone) return;
      if (!body.ok) return sendJson(res, body.status, errorBody(body.status, body.message));
      const problem = checkChatRequest(body.value);
      if (problem) return sendJson(res, 400, errorBody(400, problem));
      if ((body.value as { stream?: unknown }).stream === true) return streamSse(res, conn, n, delayOf(req));
      sendJson(res, 200, completion(n));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function serveFastify(): Promise<number> {
  // Loaded here so the node:http child never loads fastify.
  const { fastify } = await import('fastify');
  const app = fastify({ logger: false });
  app.post(PATH, async (request, reply) => {
    const n = ++counters.requests;
    const conn = watchDisconnect(reply.raw);
    const problem = checkChatRequest(request.body);
    if (problem) return reply.code(400).send(errorBody(400, problem));
    if ((request.body as { stream?: unknown }).stream === true) {
      // fastify has no token-streaming primitive with backpressure and disconnect handling of its
      // own: the route takes the raw response over, as the gateway's would.
      reply.hijack();
      await streamSse(reply.raw, conn, n, delayOf(request.raw));
      return reply;
    }
    return completion(n);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

const layers = ['node:http', 'fastify'] as const;
type Layer = (typeof layers)[number];
const roleOf: Record<Layer, string> = { 'node:http': 'node-http', fastify: 'fastify' };

type ChildMessage = { type: 'ready'; port: number } | ({ type: 'stats'; cpuUs: number } & ServerCounters);

async function runServer(role: string): Promise<void> {
  const port = role === 'fastify' ? await serveFastify() : role === 'node-http' ? await serveNodeHttp() : NaN;
  if (Number.isNaN(port)) throw new Error(`unknown server role ${role} (node-http or fastify)`);
  if (!process.send) {
    process.stdout.write(`${role} listening on http://127.0.0.1:${port}${PATH}\n`);
    return;
  }
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message) => {
    if (message !== 'stats') return;
    const cpu = process.cpuUsage();
    process.send?.({ type: 'stats', cpuUs: cpu.user + cpu.system, ...counters } satisfies ChildMessage);
  });
  process.send?.({ type: 'ready', port } satisfies ChildMessage);
}

// ---------------------------------------------------------------------------------------------
// The benchmark.

interface ServerHandle {
  layer: Layer;
  url: string;
  child: ChildProcess;
  stats(): Promise<ServerCounters & { cpuUs: number }>;
}

function startServer(layer: Layer): Promise<ServerHandle> {
  const child = fork(fileURLToPath(import.meta.url), ['serve', roleOf[layer]], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const stats = (): Promise<ServerCounters & { cpuUs: number }> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${layer} server did not answer a stats request`)), 5000);
      const onMessage = (message: ChildMessage): void => {
        if (message.type !== 'stats') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve({ requests: message.requests, disconnects: message.disconnects, cpuUs: message.cpuUs });
      };
      child.on('message', onMessage);
      child.send('stats');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${layer} server not ready within 15 s`)), 15_000);
    child.once('exit', (code, signal) => reject(new Error(`${layer} server exited (${code ?? signal}) before it was ready`)));
    child.on('message', (message: ChildMessage) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      resolve({ layer, url: `http://127.0.0.1:${message.port}`, child, stats });
    });
  });
}

async function stopServer(server: ServerHandle): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  server.child.kill('SIGTERM');
  await Promise.race([exited, sleep(2000)]);
}

interface ProbeResult {
  jsonBytes: number;
  sseEvents: number;
  sseBytes: number;
  badRequestStatus: number;
  disconnectNoticed: boolean;
}

/** Checks a server answers as the benchmark expects, and that it notices a client leaving mid-stream. */
async function probe(server: ServerHandle): Promise<ProbeResult> {
  const client = new Client(server.url);
  const post = async (body: string, headers: Record<string, string> = {}) => {
    const res = await client.request({ method: 'POST', path: PATH, body, headers: { 'content-type': 'application/json', ...headers } });
    return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
  };
  try {
    const json = await post(chatRequest(false));
    const parsed = JSON.parse(json.text) as { id?: string; choices?: unknown[] };
    if (json.status !== 200 || !json.type.startsWith('application/json') || !parsed.choices?.length) {
      throw new Error(`${server.layer}: bad JSON answer ${json.status} ${json.type} ${json.text.slice(0, 120)}`);
    }
    const sse = await post(chatRequest(true));
    const events = sse.text.split('\n\n').filter((e) => e.startsWith('data: '));
    if (sse.status !== 200 || !sse.type.startsWith('text/event-stream') || events.length !== CHUNKS + 1 || events.at(-1) !== 'data: [DONE]') {
      throw new Error(`${server.layer}: bad SSE answer ${sse.status} ${sse.type} ${events.length} events`);
    }
    const bad = await post(JSON.stringify({ model: MODEL }));
    if (bad.status !== 400) throw new Error(`${server.layer}: a request without messages got ${bad.status}, not 400`);

    // A client that leaves after the first event: the server must notice and stop.
    const before = (await server.stats()).disconnects;
    const leaver = new Client(server.url);
    const res = await leaver.request({
      method: 'POST', path: PATH, body: chatRequest(true), headers: { 'content-type': 'application/json', [DELAY_HEADER]: '20' },
    });
    for await (const _ of res.body) break;
    await leaver.destroy();
    let disconnectNoticed = false;
    for (let i = 0; i < 50 && !disconnectNoticed; i++) {
      await sleep(20);
      disconnectNoticed = (await server.stats()).disconnects > before;
    }
    return {
      jsonBytes: Buffer.byteLength(json.text),
      sseEvents: events.length,
      sseBytes: Buffer.byteLength(sse.text),
      badRequestStatus: bad.status,
      disconnectNoticed,
    };
  } finally {
    await client.close();
  }
}

interface RoundResult {
  round: number;
  requests: number;
  position: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError?: string;
  seconds: number;
  serverCpuUsPerRequest: number;
}

interface LayerAggregate {
  rounds: RoundResult[];
  requests: number;
  errors: number;
  throughputMedian: number;
  throughputMin: number;
  throughputMax: number;
  /** Pooled over every measured round. */
  latencyMs: Summary;
  serverCpuUsPerRequest: number;
}

interface CaseResult {
  case: string;
  description: string;
  layers: Record<Layer, LayerAggregate>;
  /** fastify / node:http. Throughput: median of the per-round paired ratios. */
  ratio: { throughput: number; throughputMin: number; throughputMax: number; p50: number; p99: number; serverCpu: number };
}

async function main(): Promise<void> {
  const { values, positionals } = benchArgs('bench:http-layer', 'Which HTTP layer for the gateway: node:http or fastify 5? Each '
    + "serves POST /v1/chat/completions from its own child process doing the gateway's work in miniature (a ~1 KB JSON request "
    + 'in; a ~600 B JSON completion or 16 SSE events out); both are checked to answer alike, then driven with the same closed-loop '
    + 'load, alternating which goes first each round. Reports req/s, p50/p99 latency, server CPU per request and fastify / node:http '
    + 'ratios as a table on stdout and JSON in bench/results/; progress on stderr.', {
    'json-requests': { type: 'string', default: '20000', help: 'JSON requests per server and round' },
    'sse-requests': { type: 'string', default: '6000', help: 'SSE (streamed) requests per server and round' },
    warmup: { type: 'string', default: '0.5', help: "warm-up as a fraction of a round's requests (0 to 10), run once per server and case" },
    concurrency: { type: 'string', default: '32', help: 'requests in flight at once' },
    rounds: { type: 'string', default: '6', help: 'rounds per case, the servers alternating which goes first' },
    'max-seconds': { type: 'string', default: '50', help: 'time budget of the whole run, s: once spent, no case starts another round (each runs at least one)' },
    markdown: { type: 'boolean', default: false, help: 'the table also as GitHub markdown on stdout' },
  }, { allowPositionals: true, usage: ['node dist/bench/http-layer.js serve node-http|fastify   (one server alone, prints its URL)'] });
  if (positionals[0] === 'serve') return runServer(positionals[1] ?? '');

  const num = numberReader('bench:http-layer', values);
  const jsonRequests = num('json-requests', count);
  const sseRequests = num('sse-requests', count);
  const warmup = num('warmup');
  const concurrency = num('concurrency', count);
  const rounds = num('rounds', count);
  const maxSeconds = num('max-seconds');
  const integers = { 'json-requests': jsonRequests, 'sse-requests': sseRequests, concurrency, rounds, 'max-seconds': maxSeconds };
  for (const [name, v] of Object.entries(integers)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  }
  if (!(warmup >= 0 && warmup <= 10)) throw new Error('--warmup must be a fraction of a round, 0 to 10');
  const started = performance.now();
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  const deadline = started + maxSeconds * 1000;
  const machine = machineInfo();
  progress(
    `http-layer: ${machine.cpus} cores, Node ${machine.node}; ${rounds} rounds of ${jsonRequests} (json) / ${sseRequests} (sse) ` +
      `requests per server at concurrency ${concurrency}, after a warm-up of ${warmup} round`,
  );

  const servers = await Promise.all(layers.map(startServer));
  const byLayer = new Map(servers.map((s) => [s.layer, s] as const));
  const server = (layer: Layer): ServerHandle => byLayer.get(layer) as ServerHandle;
  const results: CaseResult[] = [];
  const probes: Partial<Record<Layer, ProbeResult>> = {};
  let roundsRun = Infinity;
  try {
    for (const layer of layers) {
      const p = await probe(server(layer));
      probes[layer] = p;
      progress(`[${elapsed()}] ${layer} at ${server(layer).url}: JSON ${p.jsonBytes} B, SSE ${p.sseEvents} events / ${p.sseBytes} B, bad request ${p.badRequestStatus}, disconnect noticed: ${p.disconnectNoticed ? 'yes' : 'NO'}`);
      if (!p.disconnectNoticed) throw new Error(`${layer} did not notice a client leaving mid-stream`);
    }

    const cases = [
      {
        case: 'json', description: '~1 KB chat request -> ~600 B JSON completion', body: chatRequest(false), requests: jsonRequests,
        validate: (status: number, text: string) => status === 200 && text.startsWith('{"id":"chatcmpl-') && text.endsWith('}'),
      },
      {
        case: 'sse', description: `~1 KB chat request -> SSE, ${CHUNKS} x ~205 B events + [DONE]`, body: chatRequest(true), requests: sseRequests,
        validate: (status: number, text: string) => status === 200 && text.endsWith('data: [DONE]\n\n'),
      },
    ];
    for (const c of cases) {
      const load = (layer: Layer, count: number): Promise<LoadResult> =>
        runLoad({ url: server(layer).url, path: PATH, body: c.body, concurrency, requests: count, maxSeconds: 20, validate: c.validate });
      const warmupRequests = Math.round(c.requests * warmup);
      for (const layer of layers) {
        if (warmupRequests === 0) break;
        const w = await load(layer, warmupRequests);
        progress(`[${elapsed()}] ${c.case} warm-up ${layer}: ${fmt(w.throughput)} req/s${w.errors ? `, ${w.errors} errors (${w.firstError})` : ''}`);
      }
      const perLayer: Record<Layer, { rounds: RoundResult[]; latencies: number[][]; cpuUs: number }> = {
        'node:http': { rounds: [], latencies: [], cpuUs: 0 },
        fastify: { rounds: [], latencies: [], cpuUs: 0 },
      };
      for (let round = 0; round < Math.min(rounds, roundsRun); round++) {
        if (round > 0 && performance.now() > deadline) {
          progress(`[${elapsed()}] time budget of ${maxSeconds}s spent: stopping ${c.case} after ${round} rounds`);
          roundsRun = round;
          break;
        }
        for (const [position, layer] of alternatingOrder(layers, round).entries()) {
          const before = await server(layer).stats();
          const r = await load(layer, c.requests);
          const after = await server(layer).stats();
          const cpuUs = after.cpuUs - before.cpuUs;
          const entry: RoundResult = {
            round: round + 1, requests: r.requests, position: position + 1, throughput: r.throughput, p50Ms: r.p50Ms, p99Ms: r.p99Ms,
            errors: r.errors, seconds: r.seconds, serverCpuUsPerRequest: cpuUs / Math.max(1, r.requests),
          };
          if (r.firstError !== undefined) entry.firstError = r.firstError;
          perLayer[layer].rounds.push(entry);
          perLayer[layer].latencies.push(r.latenciesMs);
          perLayer[layer].cpuUs += cpuUs;
          progress(
            `[${elapsed()}] ${c.case} round ${round + 1}/${rounds} ${layer.padEnd(9)}: ${fmt(r.throughput).padStart(6)} req/s, ` +
              `p50 ${fmt(r.p50Ms, 2)} ms, p99 ${fmt(r.p99Ms, 2)} ms, server CPU ${fmt(entry.serverCpuUsPerRequest)} µs/req` +
              (r.errors ? `, ${r.errors} errors (${r.firstError})` : ''),
          );
        }
      }
      const aggregate = (layer: Layer): LayerAggregate => {
        const { rounds: rs, latencies, cpuUs } = perLayer[layer];
        const total = rs.reduce((a, r) => a + r.requests, 0);
        const tputs = rs.map((r) => r.throughput);
        return {
          rounds: rs,
          requests: total,
          errors: rs.reduce((a, r) => a + r.errors, 0),
          throughputMedian: median(tputs),
          throughputMin: Math.min(...tputs),
          throughputMax: Math.max(...tputs),
          latencyMs: summarize(latencies.flat()),
          serverCpuUsPerRequest: cpuUs / Math.max(1, total),
        };
      };
      const n = aggregate('node:http');
      const f = aggregate('fastify');
      const paired = f.rounds.map((r, i) => r.throughput / (n.rounds[i]?.throughput ?? NaN)).filter(Number.isFinite);
      results.push({
        case: c.case,
        description: c.description,
        layers: { 'node:http': n, fastify: f },
        ratio: {
          throughput: median(paired),
          throughputMin: Math.min(...paired),
          throughputMax: Math.max(...paired),
          p50: f.latencyMs.p50 / n.latencyMs.p50,
          p99: f.latencyMs.p99 / n.latencyMs.p99,
          serverCpu: f.serverCpuUsPerRequest / n.serverCpuUsPerRequest,
        },
      });
    }
  } finally {
    await Promise.all(servers.map(stopServer));
  }

  const headers = ['case', 'server', 'req/s', 'req/s range', 'p50 ms', 'p99 ms', 'CPU µs/req', 'errors'];
  const align = ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'] as const;
  const rows: string[][] = [];
  for (const r of results) {
    for (const layer of layers) {
      const a = r.layers[layer];
      rows.push([r.case, layer, fmt(a.throughputMedian), `${fmt(a.throughputMin)}–${fmt(a.throughputMax)}`, fmt(a.latencyMs.p50, 2), fmt(a.latencyMs.p99, 2), fmt(a.serverCpuUsPerRequest), fmt(a.errors)]);
    }
    const q = r.ratio;
    rows.push([r.case, 'fastify / node:http', fmtRatio(q.throughput), `${fmtRatio(q.throughputMin)}–${fmtRatio(q.throughputMax)}`, fmtRatio(q.p50), fmtRatio(q.p99), fmtRatio(q.serverCpu), '']);
  }
  const done = Math.min(rounds, roundsRun);
  process.stdout.write(
    `\nHTTP layer, ${machine.date.slice(0, 10)}, ${machine.cpus} cores (${machine.cpuModel}), Node ${machine.node}\n` +
      `concurrency ${concurrency}; ${done} alternating rounds of ${jsonRequests} (json) / ${sseRequests} (sse) requests per server, after a warm-up of ${warmup} round\n` +
      `req/s: median of rounds (range: min–max; ratio: median of per-round fastify/node:http pairs);\n` +
      `p50/p99: pooled over all rounds; CPU: server process user+system time per request\n\n` +
      `${formatTable(headers, rows, align)}\n\n`,
  );
  if (values.markdown) process.stdout.write(`${formatMarkdownTable(headers, rows, align)}\n\n`);
  const file = writeResults('http-layer', {
    benchmark: 'http-layer',
    machine,
    config: { jsonRequests, sseRequests, warmupShareOfRound: warmup, concurrency, rounds: done, path: PATH, sseEvents: CHUNKS },
    versions: { undici: await versionOf('undici'), fastify: await versionOf('fastify') },
    probes,
    cases: results,
    seconds: (performance.now() - started) / 1000,
  });
  progress(`[${elapsed()}] wrote ${file}`);
}

async function versionOf(pkg: string): Promise<string> {
  try {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:http-layer failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
