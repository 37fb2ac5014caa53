// One trace per request across separately started role processes: a real OTLP/HTTP receiver on
// loopback collects what the gateway, router and worker export (http/json, decoded here; and
// http/protobuf), and a recording proxy in front of `llmux sim` shows the traceparent the engine got.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeTraceRequest } from './support/otlp-protobuf.js';
import { spawnRole } from './support/processes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServerHandle, startNatsServer } from '../src/transport/nats/nats-server-process.js';

/** OTLP/JSON, the parts the assertions read. */
interface OtlpValue { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number; arrayValue?: { values: OtlpValue[] } }
interface OtlpSpan {
  traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number;
  attributes?: Array<{ key: string; value: OtlpValue }>;
  events?: Array<{ name: string }>;
}
interface ReceivedSpan extends OtlpSpan { service: string; attrs: Record<string, unknown> }

const plain = (v: OtlpValue): unknown => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue
  ?? v.arrayValue?.values.map(plain);

const spans: ReceivedSpan[] = [];
const protobufBodies: Array<{ contentType: string; body: Buffer }> = [];
/** Every export as received, and the resource attribute keys of the JSON ones. */
const rawExports: string[] = [];
const resourceKeys = new Set<string>();
const engineTraceparents: string[] = [];
const children: ChildProcess[] = [];
const servers: Server[] = [];
let nats: NatsServerHandle | undefined;
let otlpUrl = '';
let proxyUrl = '';
let ids = '';
let jsonGateway = '';

function listen(server: Server): Promise<string> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** The OTLP receiver: POST /v1/traces, JSON decoded into `spans`, protobuf kept whole. */
function otlpReceiver(): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const contentType = req.headers['content-type'] ?? '';
      if (req.url === '/v1/traces') rawExports.push(body.toString('latin1'));
      if (req.url === '/v1/traces' && contentType.startsWith('application/json')) {
        const parsed = JSON.parse(body.toString('utf8')) as { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: OtlpValue }> }; scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
        for (const rs of parsed.resourceSpans) {
          const service = String(plain(rs.resource.attributes.find((a) => a.key === 'service.name')?.value ?? {}));
          for (const a of rs.resource.attributes) resourceKeys.add(a.key);
          for (const ss of rs.scopeSpans) {
            for (const s of ss.spans) spans.push({ ...s, service, attrs: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, plain(a.value)])) });
          }
        }
      } else if (req.url === '/v1/traces') {
        protobufBodies.push({ contentType, body });
      }
      res.writeHead(200, { 'content-type': contentType || 'application/json' });
      res.end(contentType.startsWith('application/json') ? '{}' : '');
    });
  });
}

/** Forwards to the sim, noting each request's traceparent: what an engine like vLLM would continue. */
function recordingProxy(target: string): Server {
  const to = new URL(target);
  return createServer((req, res) => {
    const tp = req.headers.traceparent;
    if (req.method === 'POST' && typeof tp === 'string') engineTraceparents.push(tp);
    const upstream = httpRequest({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
}

const role = (args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<string> => spawnRole(children, args, ready, env);

const otel = (protocol: string): Record<string, string> => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_BSP_SCHEDULE_DELAY: '50',
  OTEL_TRACES_SAMPLER: 'parentbased_always_on',
});

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; spans so far: ${spans.map((s) => `${s.service}:${s.name}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function chat(gatewayUrl: string, traceparent: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer k1', traceparent, ...headers },
    body: JSON.stringify({ model: 'demo/tiny', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

const hex = (bytes: number): string => Array.from({ length: bytes * 2 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');

beforeAll(async () => {
  otlpUrl = await listen(otlpReceiver());
  ids = join(mkdtempSync(join(tmpdir(), 'llmux-ids-')), 'ids');
  execFileSync(process.execPath, ['bin/llmux.js', 'credentials', '--worker', 'w-one', '--out', ids], { encoding: 'utf8' });
  nats = await startNatsServer({ config: readFileSync(join(ids, 'nats-auth.conf'), 'utf8') });
  const control = ['--nkey-seed-file', join(ids, 'control.seed')];
  execFileSync(process.execPath, ['bin/llmux.js', 'register-demo', '--nats', nats.url, ...control, '--model', 'tiny'], { encoding: 'utf8' });
  execFileSync(process.execPath, ['bin/llmux.js', 'credentials', '--nats', nats.url, ...control, '--worker', 'w-one', '--function', 'demo', '--model', 'tiny'], { encoding: 'utf8' });
  const simUrl = await role(['sim', '--port', '0', '--model', 'tiny'], /listening on (http:\/\/\S+)/);
  proxyUrl = await listen(recordingProxy(simUrl));
  await role(['router', '--nats', nats.url, ...control], /router running/, otel('http/json'));
  await role(['limiter', '--nats', nats.url, ...control], /limiter running/, otel('http/json'));
  await role(['worker', '--nats', nats.url, '--nkey-seed-file', join(ids, 'w-one.seed'), '--engine-url', proxyUrl, '--function', 'demo', '--model', 'tiny', '--id', 'w-one'],
    /worker registered/, otel('http/json'));
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
  await nats?.stop();
  for (const s of servers) s.close();
});

describe('tracing across role processes', () => {
  it('tracing - one request is one trace: gateway server span, counting, admission, router decision, worker handling, engine client span', async () => {
    const gatewayUrl = await role(['gateway', '--nats', nats!.url, '--nkey-seed-file', join(ids, 'control.seed'), '--port', '0', '--api-key', 'k1',
      '--admin-key', 'adm-secret-7f3a'], /"url":"(http:\/\/[^"]+)"/, { ...otel('http/json'), OTEL_SERVICE_NAME: 'edge-gateway' });
    jsonGateway = gatewayUrl;

    // No limit applies yet, so admission never calls the limiter: there is no admission span.
    const unlimited = hex(16);
    expect((await chat(gatewayUrl, `00-${unlimited}-${hex(8)}-01`)).status).toBe(200);
    await until('the unlimited request\'s server span', () => spans.find((s) => s.traceId === unlimited && s.name === 'chat demo/tiny'));
    await until('its counting span', () => spans.find((s) => s.traceId === unlimited && s.name === 'llmux.prompt_count'));
    expect(spans.filter((s) => s.traceId === unlimited && s.name === 'llmux.admission')).toEqual([]);

    // A limit per x-team header: a request that carries one is admitted with the limiter.
    const patched = await fetch(`${gatewayUrl}/admin/api/functions/demo/versions/v1/models/tiny`, {
      method: 'PATCH', headers: { authorization: 'Bearer adm-secret-7f3a', 'content-type': 'application/json' },
      body: JSON.stringify({ rateLimitSelectors: [{ header: 'x-team', tokenRateLimit: '1000000-M' }] }),
    });
    expect(patched.status).toBe(200);
    // The change reaches the gateway through a KV watch: the limit shows in the rate-limit headers.
    await until('the x-team limit to apply', async () => ((await chat(gatewayUrl, `00-${hex(16)}-${hex(8)}-01`, { 'x-team': 'a' })).headers
      .get('x-ratelimit-limit-tokens') ? true : undefined));
    const traceId = hex(16);
    const clientSpan = hex(8);
    const res = await chat(gatewayUrl, `00-${traceId}-${clientSpan}-01`, { 'x-team': 'a' });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };

    const inTrace = (): ReceivedSpan[] => spans.filter((s) => s.traceId === traceId);
    const named = (name: string, service?: string) => (): ReceivedSpan | undefined => inTrace().find((s) => s.name === name && (!service || s.service === service));
    const server = await until('the gateway server span', named('chat demo/tiny', 'edge-gateway'));
    const counting = await until('the counting span', named('llmux.prompt_count'));
    const admission = await until('the admission span', named('llmux.admission'));
    const route = await until('the router span', named('llmux.route'));
    const worker = await until('the worker span', named('llmux.worker'));
    const engine = await until('the engine span', named('chat tiny', 'llmux-worker'));

    // The client's context is continued: the server span is the child of the client's span.
    expect(server.parentSpanId).toBe(clientSpan);
    expect(server.kind).toBe(2); // SERVER
    for (const child of [counting, admission, route, worker]) expect(child.parentSpanId).toBe(server.spanId);
    expect(engine.parentSpanId).toBe(worker.spanId);
    expect(engine.kind).toBe(3); // CLIENT
    expect([counting.service, admission.service, route.service, worker.service]).toEqual(['edge-gateway', 'edge-gateway', 'llmux-router', 'llmux-worker']);

    expect(server.attrs).toMatchObject({
      'http.request.method': 'POST', 'http.route': '/v1/chat/completions', 'http.response.status_code': 200,
      'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'demo/tiny', 'gen_ai.response.model': 'demo/tiny', 'gen_ai.provider.name': 'llmux',
      'gen_ai.usage.input_tokens': answer.usage.prompt_tokens, 'gen_ai.usage.output_tokens': answer.usage.completion_tokens,
      'gen_ai.response.finish_reasons': ['length'],
    });
    expect(counting.attrs['llmux.prompt.tokens']).toBeGreaterThan(0);
    expect(admission.attrs).toMatchObject({ 'llmux.admission.admitted': true, 'llmux.admission.limits': 1 });
    expect(route.attrs).toMatchObject({ 'llmux.routing.method': expect.any(String), 'llmux.routing.candidates': 1, 'llmux.routing.winner': 'w-one',
      'llmux.routing.outcome': 'dispatched', 'llmux.attempt': 1, 'llmux.config.version': expect.any(String) });
    expect(route.attrs['llmux.routing.decision_us']).toEqual(expect.any(Number));
    expect(worker.attrs).toMatchObject({ 'llmux.worker.id': 'w-one', 'llmux.outcome': 'ok' });
    expect(engine.attrs).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'tiny', 'gen_ai.provider.name': 'vllm' });
    // The engine got the engine span's context, so its own spans would join the trace.
    expect(engineTraceparents).toContain(`00-${traceId}-${engine.spanId}-01`);
  });

  it('tracing - a streamed request is traced, and reading it again from the journal is a resume span', async () => {
    const traceId = hex(16);
    const res = await fetch(`${jsonGateway}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k1', traceparent: `00-${traceId}-${hex(8)}-01`, 'x-llmux-resumable': '1' },
      body: JSON.stringify({ model: 'demo/tiny', stream: true, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const streamId = res.headers.get('x-llmux-stream-id');
    expect(await res.text()).toContain('data: [DONE]');
    const server = await until('the streamed request\'s server span', () => spans.find((s) => s.traceId === traceId && s.name === 'chat demo/tiny'));
    expect(server.attrs).toMatchObject({ 'http.response.status_code': 200, 'gen_ai.usage.output_tokens': 3, 'llmux.outcome': 'ok' });

    const resumeTrace = hex(16);
    const again = await fetch(`${jsonGateway}/v1/streams/${streamId}`, { headers: { authorization: 'Bearer k1', traceparent: `00-${resumeTrace}-${hex(8)}-01` } });
    expect(await again.text()).toContain('data: [DONE]');
    const resume = await until('the resume span', () => spans.find((s) => s.traceId === resumeTrace && s.name === 'llmux.resume'));
    expect(resume.attrs).toMatchObject({ 'llmux.stream.id': streamId, 'http.response.status_code': 200 });
  });

  it('tracing - a route request: the server span, counting, admission, and the backend call as a client span whose traceparent goes to the backend', async () => {
    const gatewayUrl = await role(['gateway', '--nats', nats!.url, '--nkey-seed-file', join(ids, 'control.seed'), '--port', '0', '--api-key', 'k1', '--admin-key', 'adm'],
      /"url":"(http:\/\/[^"]+)"/, { ...otel('http/json'), OTEL_SERVICE_NAME: 'route-gateway' });
    const put = async (path: string, body: unknown) => (await fetch(`${gatewayUrl}${path}`, {
      method: 'PUT', headers: { authorization: 'Bearer adm', 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
    expect(await put('/admin/api/backends/traced', { engine: 'vllm', url: proxyUrl, model: 'tiny' })).toBe(200);
    expect(await put('/admin/api/routes/traced', { match: { models: ['routed-tiny'] }, backends: [{ backend: 'traced' }] })).toBe(200);
    const traceId = hex(16);
    const ask = () => fetch(`${gatewayUrl}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k1', traceparent: `00-${traceId}-${hex(8)}-01` },
      body: JSON.stringify({ model: 'routed-tiny', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }),
    });
    // The route reaches the gateway's table through a KV watch.
    let res = await ask();
    for (let i = 0; i < 50 && res.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await ask();
    }
    expect(res.status).toBe(200);
    const inTrace = (name: string) => () => spans.find((s) => s.traceId === traceId && s.name === name && s.service === 'route-gateway');
    const server = await until('the route request\'s server span', inTrace('chat routed-tiny'));
    const counting = await until('its counting span', inTrace('llmux.prompt_count'));
    const engine = await until('the backend call span', inTrace('chat tiny'));
    expect(counting.parentSpanId).toBe(server.spanId);
    expect(engine.parentSpanId).toBe(server.spanId);
    expect(engine.kind).toBe(3); // CLIENT
    expect(engine.attrs).toMatchObject({ 'gen_ai.provider.name': 'vllm', 'llmux.route': 'traced', 'llmux.backend': 'traced', 'llmux.attempt': 1,
      'gen_ai.usage.output_tokens': 3 });
    expect(server.attrs).toMatchObject({ 'http.response.status_code': 200, 'gen_ai.usage.output_tokens': 3, 'llmux.outcome': 'ok', 'llmux.worker.id': 'traced' });
    expect(engineTraceparents).toContain(`00-${traceId}-${engine.spanId}-01`);
  });

  it('tracing - exports http/protobuf when OTEL_EXPORTER_OTLP_PROTOCOL says so: the server span and its counting child, decoded', async () => {
    const gatewayUrl = await role(['gateway', '--nats', nats!.url, '--nkey-seed-file', join(ids, 'control.seed'), '--port', '0', '--api-key', 'k1'],
      /"url":"(http:\/\/[^"]+)"/, otel('http/protobuf'));
    const traceId = hex(16);
    const clientSpan = hex(8);
    expect((await chat(gatewayUrl, `00-${traceId}-${clientSpan}-01`)).status).toBe(200);
    // The exporter's protobuf carries the trace id as 16 raw bytes and the span name as a string.
    // The server span ends last: an export made between the counting span's end and its end holds the trace id without it.
    const serverSpanOf = (b: { body: Buffer }): boolean => b.body.includes(Buffer.from(traceId, 'hex')) && b.body.includes(Buffer.from('chat demo/tiny'));
    await until('a protobuf export of the trace\'s server span', () => protobufBodies.find(serverSpanOf));
    expect(protobufBodies.every((b) => b.contentType === 'application/x-protobuf')).toBe(true);
    // Decoded by the test's own reader (llmux encodes http/protobuf itself, otlp-trace-encoder.ts).
    const decoded = protobufBodies.flatMap((b) => decodeTraceRequest(b.body)).filter((d) => d.traceId === traceId);
    const server = decoded.find((d) => d.name === 'chat demo/tiny');
    expect(server).toMatchObject({ kind: 2, parentSpanId: clientSpan, service: 'llmux-gateway', scope: 'llmux', statusCode: 0 });
    expect(server?.attrs).toMatchObject({ 'http.request.method': 'POST', 'url.path': '/v1/chat/completions', 'http.response.status_code': 200,
      'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'demo/tiny', 'gen_ai.response.model': 'demo/tiny', 'gen_ai.usage.output_tokens': 3,
      'gen_ai.response.finish_reasons': [expect.any(String)], 'llmux.outcome': 'ok' });
    expect((server?.endNanos ?? 0n) > (server?.startNanos ?? 0n)).toBe(true);
    expect(Number(server?.startNanos ?? 0n) / 1e6).toBeGreaterThan(Date.now() - 60_000);
    const counting = decoded.find((d) => d.name === 'llmux.prompt_count');
    expect(counting).toMatchObject({ kind: 1, parentSpanId: server?.spanId });
    expect(counting?.attrs['llmux.prompt.tokens']).toBeGreaterThan(0);
    // The router and worker still export JSON, into the same trace.
    await until('the worker span of the protobuf-traced request', () => spans.find((s) => s.traceId === traceId && s.name === 'llmux.worker'));
  });

  it('tracing - llmux up with its workers on threads: the worker and engine spans come from the worker thread, in the one trace', async () => {
    const upUrl = await role(['up', '--port', '0', '--threads', '2', '--workers', '1', '--api-key', 'k1'], /base URL\s+(http:\/\/\S+)\/v1/,
      { ...otel('http/json'), OTEL_SERVICE_NAME: 'one-up' });
    const traceId = hex(16);
    const res = await fetch(`${upUrl}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k1', traceparent: `00-${traceId}-${hex(8)}-01` },
      body: JSON.stringify({ model: 'demo/llmux-sim-8b', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const named = (name: string) => () => spans.find((s) => s.traceId === traceId && s.name === name && s.service === 'one-up');
    const server = await until('the server span', named('chat demo/llmux-sim-8b'));
    const route = await until('the router span', named('llmux.route'));
    const worker = await until('the worker span, from the worker thread', named('llmux.worker'));
    const engine = await until('the engine span', named('chat llmux-sim-8b'));
    for (const child of [route, worker]) expect(child.parentSpanId).toBe(server.spanId);
    expect(engine.parentSpanId).toBe(worker.spanId);
    expect(engine.kind).toBe(3); // CLIENT
  });

  it('tracing - no export carries a secret from a role\'s command line or a request (the resource has no process.command_args)', async () => {
    // Every role above ran with secrets on its command line or in its requests: --api-key k1, --admin-key, the bearer headers.
    await until('exports from the gateways, router and worker', () => (new Set(spans.map((s) => s.service)).size >= 4 ? true : undefined));
    expect(resourceKeys.has('process.pid')).toBe(true);
    expect(resourceKeys.has('process.command_args')).toBe(false);
    for (const body of rawExports) {
      expect(body).not.toContain('adm-secret-7f3a');
      expect(body).not.toContain('--api-key');
      expect(body).not.toContain('Bearer');
    }
  });
});
