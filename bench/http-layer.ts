/**
 * Which HTTP layer for the gateway: node:http or fastify? Each server runs in its own child process
 * and does the gateway's work in miniature — parse a ~1 KB JSON chat request, then answer either a
 * ~600 B JSON body or an SSE stream of 16 chunks and [DONE] — while this process drives both with
 * the same closed-loop load, alternating rounds so drift hits both alike.
 *
 *   npm run bench:http-layer [-- --requests 4000 --concurrency 32 --rounds 3]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { readJsonBody } from '../src/actors/gateway/http-io.js';
import { type LoadResult, runLoad, table } from './support/load.js';

const chunkBody = JSON.stringify({
  id: 'chatcmpl-0123456789abcdef', object: 'chat.completion.chunk', created: 1763800000, model: 'demo/llmux-sim-8b',
  choices: [{ index: 0, delta: { content: ' token' }, logprobs: null, finish_reason: null }],
});
const jsonAnswer = JSON.stringify({
  id: 'chatcmpl-0123456789abcdef', object: 'chat.completion', created: 1763800000, model: 'demo/llmux-sim-8b',
  choices: [{ index: 0, message: { role: 'assistant', content: 'word '.repeat(70).trim() }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 20, completion_tokens: 70, total_tokens: 90 },
});

function writeSse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (let i = 0; i < 16; i++) res.write(`data: ${chunkBody}\n\n`);
  res.end('data: [DONE]\n\n');
}


async function serveNodeHttp(): Promise<number> {
  const server = createServer(async (req, res) => {
    let closed = false;
    res.on('close', () => (closed = !res.writableFinished));
    const body = (await readJsonBody(req)) as { model?: string };
    if (!body?.model || closed) return void res.end();
    if (req.url === '/sse') return writeSse(res);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(jsonAnswer) });
    res.end(jsonAnswer);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function serveFastify(): Promise<number> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.post('/json', async (request, reply) => {
    if (!(request.body as { model?: string }).model) return reply.code(400).send();
    return reply.header('content-type', 'application/json').send(jsonAnswer);
  });
  app.post('/sse', async (request, reply) => {
    if (!(request.body as { model?: string }).model) return reply.code(400).send();
    reply.hijack();
    writeSse(reply.raw);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

type Layer = 'node:http' | 'fastify';

function startChild(layer: Layer): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(new URL(import.meta.url).pathname, ['--serve', layer], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (port) => resolve({ child, url: `http://127.0.0.1:${String(port)}` }));
    child.once('exit', (code) => reject(new Error(`${layer} server exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      requests: { type: 'string', default: '4000' },
      concurrency: { type: 'string', default: '32' },
      rounds: { type: 'string', default: '3' },
    },
  });
  if (values.serve) {
    const port = values.serve === 'fastify' ? await serveFastify() : await serveNodeHttp();
    process.send?.(port);
    return;
  }
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const layers: Layer[] = ['node:http', 'fastify'];
  const servers = new Map<Layer, { child: ChildProcess; url: string }>();
  for (const layer of layers) servers.set(layer, await startChild(layer));
  const body = JSON.stringify({ model: 'demo/llmux-sim-8b', stream: true, max_tokens: 64, messages: [{ role: 'user', content: 'x'.repeat(900) }] });
  const results = new Map<string, LoadResult[]>();
  try {
    for (const path of ['/json', '/sse']) {
      for (const layer of layers) await runLoad({ url: servers.get(layer)!.url, path, body, concurrency, requests: 1000 });
      for (let round = 1; round <= rounds; round++) {
        for (const layer of round % 2 ? layers : [...layers].reverse()) {
          const r = await runLoad({ url: servers.get(layer)!.url, path, body, concurrency, requests });
          results.set(`${path} ${layer}`, [...(results.get(`${path} ${layer}`) ?? []), r]);
          say(`${path} round ${round}/${rounds} ${layer}: ${r.throughput.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms, errors ${r.errors}`);
        }
      }
    }
  } finally {
    for (const { child } of servers.values()) child.kill();
  }
  const mean = (rs: LoadResult[], k: 'throughput' | 'p50Ms' | 'p99Ms') => rs.reduce((a, r) => a + r[k], 0) / rs.length;
  const rows: string[][] = [];
  const json: Record<string, unknown>[] = [];
  for (const path of ['/json', '/sse']) {
    const n = results.get(`${path} node:http`)!;
    const f = results.get(`${path} fastify`)!;
    const row = (name: string, rs: LoadResult[]) => [path, name, mean(rs, 'throughput').toFixed(0), mean(rs, 'p50Ms').toFixed(2), mean(rs, 'p99Ms').toFixed(2)];
    rows.push(row('node:http', n), row('fastify', f));
    const ratio = { throughput: mean(f, 'throughput') / mean(n, 'throughput'), p50: mean(f, 'p50Ms') / mean(n, 'p50Ms'), p99: mean(f, 'p99Ms') / mean(n, 'p99Ms') };
    rows.push([path, 'fastify/node:http', ratio.throughput.toFixed(2), ratio.p50.toFixed(2), ratio.p99.toFixed(2)]);
    json.push({ path, nodeHttp: { throughput: mean(n, 'throughput'), p50Ms: mean(n, 'p50Ms'), p99Ms: mean(n, 'p99Ms') },
      fastify: { throughput: mean(f, 'throughput'), p50Ms: mean(f, 'p50Ms'), p99Ms: mean(f, 'p99Ms') }, ratio });
  }
  process.stdout.write(`\n${table(['case', 'layer', 'req/s', 'p50 ms', 'p99 ms'], rows)}\n\n`);
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/http-layer-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, requests, rounds, concurrency, results: json }, null, 2));
  say(`wrote ${file}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:http-layer failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
