// Metrics from every role, scraped from separately started processes on their --metrics-port:
// real requests through gateway, router and worker (with a rate-limited key, so the limiter
// reserves and refuses), then the router's decisions, the worker's engine calls and the limiter's
// reservations counted as they happened; exemplars carry the client's trace id in OpenMetrics
// scrapes only; a gateway frozen mid-stream makes the worker abort an orphan.
import { type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServerHandle, startNatsServer } from '../src/transport/nats/nats-server-process.js';
import { scrape, sample } from './support/metrics-scrape.js';
import { spawnRole } from './support/processes.js';
import { execFileSync } from 'node:child_process';

const children: ChildProcess[] = [];
let nats: NatsServerHandle | undefined;
let otlp: Server | undefined;
const openMetrics = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

/** The ready line of a role (a JSON log line), parsed. */
const ready = async (args: string[], msg: string, env: Record<string, string>): Promise<Record<string, string>> =>
  JSON.parse(await spawnRole(children, args, new RegExp(`(\\{[^\\n]*"msg":"${msg}"[^\\n]*\\})`), env)) as Record<string, string>;

const urls = { gateway: '', gatewayMetrics: '', router: '', worker: '', limiter: '' };
let key = '';
let gatewayPid = 0;

beforeAll(async () => {
  // Tracing on in every role (exemplars need it), exporting to a receiver that takes everything.
  otlp = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => otlp!.listen(0, '127.0.0.1', resolve));
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(otlp.address() as AddressInfo).port}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
  nats = await startNatsServer();
  execFileSync(process.execPath, ['bin/llmux.js', 'register-demo', '--nats', nats.url, '--model', 'tiny'], { encoding: 'utf8' });
  const sim = await spawnRole(children, ['sim', '--port', '0', '--model', 'tiny', '--itl-ms', '20'], /listening on (http:\/\/\S+)/);
  const m = ['--metrics-port', '0'];
  urls.router = (await ready(['router', '--nats', nats.url, ...m], 'router running', env)).metrics as string;
  urls.limiter = (await ready(['limiter', '--nats', nats.url, ...m], 'limiter running', env)).metrics as string;
  urls.worker = (await ready(['worker', '--nats', nats.url, '--engine-url', sim, '--function', 'demo', '--model', 'tiny', '--id', 'w-metrics',
    '--heartbeat-ms', '200', '--lease-timeout-ms', '1000', ...m], 'worker registered', env)).metrics as string;
  const g = await ready(['gateway', '--nats', nats.url, '--port', '0', '--admin-key', 'adm', ...m], 'gateway listening', env);
  urls.gateway = g.url as string;
  urls.gatewayMetrics = g.metrics as string;
  gatewayPid = children.at(-1)?.pid as number;
  const made = await fetch(`${urls.gateway}/admin/api/keys`, { method: 'POST', headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'metrics', requestRateLimit: '3-M' }) });
  expect(made.status).toBe(201);
  key = ((await made.json()) as { key: string }).key;
}, 60_000);

afterAll(async () => {
  for (const c of children) {
    c.kill('SIGCONT');
    c.kill('SIGTERM');
  }
  await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
  await nats?.stop();
  otlp?.close();
});

const chat = (stream: boolean, maxTokens = 4, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${urls.gateway}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'demo/tiny', stream, max_tokens: maxTokens, messages: [{ role: 'user', content: 'hi' }] }),
  });

/** Polls a scrape until `ok` holds of its text, for at most `ms`; the last text. */
async function scrapeUntil(url: string, ok: (text: string) => boolean, ms = 5_000, accept?: string): Promise<string> {
  const started = Date.now();
  let text = (await scrape(url, accept)).text;
  while (!ok(text) && Date.now() - started < ms) {
    await new Promise((r) => setTimeout(r, 100));
    text = (await scrape(url, accept)).text;
  }
  return text;
}

describe('role metrics', () => {
  it('role metrics - the router, worker and limiter count the requests they served, and the gateway refuses the fourth', async () => {
    const traced = { traceparent: `00-${traceId}-00f067aa0ba902b7-01` };
    const statuses: number[] = [];
    for (const stream of [true, false, true]) {
      const res = await chat(stream, 4, traced);
      await res.text();
      statuses.push(res.status);
    }
    const refused = await chat(false);
    await refused.text();
    statuses.push(refused.status);
    expect(statuses).toEqual([200, 200, 200, 429]);

    const worker = await scrapeUntil(urls.worker, (t) => sample(t, 'gen_ai_client_operation_duration_seconds_count') >= 3);
    expect(sample(worker, 'gen_ai_client_operation_duration_seconds_count', { gen_ai_provider_name: 'vllm', gen_ai_request_model: 'tiny', outcome: 'ok' })).toBe(3);
    expect(sample(worker, 'gen_ai_client_operation_duration_seconds_count')).toBe(3);
    // 4 tokens each at 20 ms apart: three gaps after the first.
    expect(sample(worker, 'gen_ai_server_time_per_output_token_seconds_count')).toBe(3);
    const tpot = sample(worker, 'gen_ai_server_time_per_output_token_seconds_sum') / 3;
    expect(tpot).toBeGreaterThan(0.01);
    expect(tpot).toBeLessThan(1);
    expect(sample(worker, 'llmux_worker_engine_first_token_seconds_count')).toBe(3);
    expect(sample(worker, 'llmux_worker_in_flight', { worker_id: 'w-metrics' })).toBe(0);
    expect(sample(worker, 'llmux_worker_health_checks_total', { worker_id: 'w-metrics', result: 'ok' })).toBeGreaterThan(0);
    expect(sample(worker, 'llmux_worker_health_checks_total', { result: 'failed' })).toBe(0);
    expect(sample(worker, 'llmux_worker_engine_scrape_errors_total')).toBe(0);
    expect(sample(worker, 'llmux_worker_process_resident_memory_bytes')).toBeGreaterThan(0);

    const router = (await scrape(urls.router)).text;
    expect(sample(router, 'llmux_router_decision_duration_seconds_count', { method: 'least-busy', outcome: 'dispatched' })).toBe(3);
    expect(sample(router, 'llmux_router_decision_duration_seconds_sum')).toBeGreaterThan(0);
    expect(sample(router, 'llmux_router_workers')).toBe(1);
    expect(sample(router, 'llmux_router_circuit_breakers', { state: 'closed' })).toBe(1);
    expect(sample(router, 'llmux_router_circuit_breakers', { state: 'open' })).toBe(0);
    expect(sample(router, 'llmux_router_spills_total')).toBe(0);

    const limiter = await scrapeUntil(urls.limiter, (t) => sample(t, 'llmux_limiter_settlements_total') >= 3);
    expect(sample(limiter, 'llmux_limiter_reservations_total', { result: 'admitted' })).toBe(3);
    expect(sample(limiter, 'llmux_limiter_reservations_total', { result: 'refused' })).toBe(1);
    expect(sample(limiter, 'llmux_limiter_refusals_total', { limit: 'requests', scope: 'key' })).toBe(1);
    expect(sample(limiter, 'llmux_limiter_reservation_duration_seconds_count')).toBe(4);
    expect(sample(limiter, 'llmux_limiter_settlements_total')).toBe(3);

    const gateway = (await scrape(urls.gatewayMetrics as string)).text;
    expect(sample(gateway, 'llmux_gateway_requests_total', { status: '200' })).toBe(3);
    expect(sample(gateway, 'llmux_gateway_rate_limited_total', { limit: 'requests', scope: 'key' })).toBe(1);
    // With a metrics port of its own, the gateway's public port serves no metrics to its clients.
    const onPublic = await fetch(`${urls.gateway}/metrics`);
    expect(onPublic.status).toBe(404);
    expect(((await onPublic.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'not_found', message: expect.stringContaining('--metrics-port') });
  });

  it('role metrics - OpenMetrics scrapes carry the request\'s trace id as exemplars, Prometheus text does not', async () => {
    const histogram = new Map([
      [urls.worker, 'gen_ai_client_operation_duration_seconds_bucket'], [urls.router, 'llmux_router_decision_duration_seconds_bucket'],
      [urls.gatewayMetrics as string, 'gen_ai_server_request_duration_seconds_bucket'],
    ]);
    for (const [url, name] of histogram) {
      const open = await scrape(url, openMetrics);
      expect(open.contentType).toMatch(/^application\/openmetrics-text/);
      expect(open.text.endsWith('# EOF\n')).toBe(true);
      expect(open.text).toMatch(new RegExp(`^${name}\\{[^}]*\\} \\d+ # \\{trace_id="${traceId}"\\} [0-9.e-]+ [0-9.]+$`, 'm'));
      // Counters are named as OpenMetrics wants, and come back unchanged in the next Prometheus scrape.
      const prom = await scrape(url);
      expect(prom.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(prom.text).not.toContain('trace_id');
      expect(prom.text).toMatch(/^# TYPE llmux_(worker_health_checks|router_spills|gateway_requests)_total counter$/m);
    }
  });

  it('role metrics - a worker whose gateway stops leasing aborts the engine request as orphaned', async () => {
    const res = await chat(true, 400, {});
    expect(res.status).toBe(429); // the key's 3 requests a minute are spent: use a fresh key
    const made = await fetch(`${urls.gateway}/admin/api/keys`, { method: 'POST', headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'orphans' }) });
    key = ((await made.json()) as { key: string }).key;
    const long = await chat(true, 400);
    expect(long.status).toBe(200);
    const reader = long.body!.getReader();
    await reader.read();
    await scrapeUntil(urls.worker, (t) => sample(t, 'llmux_worker_in_flight', { worker_id: 'w-metrics' }) === 1);
    process.kill(gatewayPid, 'SIGSTOP');
    try {
      const worker = await scrapeUntil(urls.worker, (t) => sample(t, 'llmux_worker_engine_aborts_total', { reason: 'orphaned' }) >= 1, 8_000);
      expect(sample(worker, 'llmux_worker_engine_aborts_total', { worker_id: 'w-metrics', reason: 'orphaned' })).toBe(1);
      expect(sample(worker, 'gen_ai_client_operation_duration_seconds_count', { outcome: 'cancelled' })).toBe(1);
      expect(sample(worker, 'llmux_worker_in_flight', { worker_id: 'w-metrics' })).toBe(0);
    } finally {
      process.kill(gatewayPid, 'SIGCONT');
      await reader.cancel().catch(() => undefined);
    }
  }, 20_000);
});
