// docs/troubleshooting.md against the real thing: every example marked `<!-- check: <case> -->` (an
// HTTP answer: status line, then the JSON body or the SSE events), `<!-- check-log: <case> -->` (a
// pino line), `<!-- check-error: <case> -->` (what a role prints when it cannot start) or
// `<!-- check-metric: <case> -->` (Prometheus samples of the gateway's /metrics) is compared
// with what a real stack (nats-server, router, gateway, limiter, workers on simulators) answers,
// logs or throws when the case is provoked. `…` in a doc example stands for any text (ids, ports).
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoModel } from '../src/control/demo-function.js';
import type { LocalStack } from '../src/launch/local-stack.js';
import { runWorker } from '../src/launch/roles.js';
import { startSim } from '../src/sim/sim-server.js';
import { newIdentity } from '../src/transport/nats/nats-credentials.js';
import { admin } from './support/routing.js';
import { startTestStack, testAdminKey, testApiKey, waitFor } from './support/stack.js';

interface Observed {
  status: number;
  headers?: Headers;
  /** The JSON body, or for an event stream the last `data:` event that carries an error. */
  body: unknown;
}

/** Every marked example in the doc, by kind and case id, in the order written. */
type Kind = 'check' | 'check-log' | 'check-error' | 'check-metric';
function examples(): Array<{ kind: Kind; id: string; text: string }> {
  const doc = readFileSync('docs/troubleshooting.md', 'utf8');
  const out: Array<{ kind: Kind; id: string; text: string }> = [];
  const re = /<!-- (check|check-log|check-error|check-metric): ([a-z0-9-]+) -->\s*\n```[a-z]*\n([\s\S]*?)\n```/g;
  for (let m = re.exec(doc); m; m = re.exec(doc)) out.push({ kind: m[1] as Kind, id: m[2] as string, text: m[3] as string });
  return out;
}

/** A doc string with `…` for any text, as a whole-string pattern. */
const pattern = (s: string): RegExp => new RegExp(`^${s.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*')}$`);

/** `expected` (from the doc) is within `actual`: every field it names is there, equal, strings matched with `…`. */
function within(expected: unknown, actual: unknown, at = '$'): string[] {
  if (typeof expected === 'string') return typeof actual === 'string' && pattern(expected).test(actual) ? [] : [`${at}: doc says ${JSON.stringify(expected)}, real ${JSON.stringify(actual)}`];
  if (expected === null || typeof expected !== 'object') return Object.is(expected, actual) ? [] : [`${at}: doc says ${JSON.stringify(expected)}, real ${JSON.stringify(actual)}`];
  if (actual === null || typeof actual !== 'object') return [`${at}: doc says an object, real ${JSON.stringify(actual)}`];
  return Object.entries(expected).flatMap(([k, v]) => within(v, (actual as Record<string, unknown>)[k], `${at}.${k}`));
}

/** The status and body of a doc example: `HTTP/1.1 NNN …`, headers, a blank line, then JSON or `data:` events. */
function parseHttpExample(text: string): { status: number; headers: Array<[string, string]>; body: unknown } {
  const [head = '', ...rest] = text.split(/\n\s*\n/);
  const [statusLine = '', ...headerLines] = head.split('\n');
  const status = Number(/HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
  const headers = headerLines.map((l): [string, string] => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]);
  const payload = rest.join('\n\n').trim();
  return { status, headers, body: /^(data|id|event):/.test(payload) ? lastErrorEvent(payload) : JSON.parse(payload) };
}

/**
 * The last SSE event whose data is an error, as `{ event, data }` (`event` is its `event:` field);
 * a doc's other events hold `…` and are not JSON.
 */
function lastErrorEvent(sse: string): unknown {
  const events = sse.split(/\n\n/).map((block) => {
    const fields = block.split('\n');
    const data = fields.find((l) => l.startsWith('data: {"error"'));
    return data ? { event: fields.find((l) => l.startsWith('event: '))?.slice(7) ?? null, data: JSON.parse(data.slice(6)) as unknown } : undefined;
  });
  return events.filter((e) => e !== undefined).at(-1);
}

async function call(url: string, init: { method?: string; key?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<Observed> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(init.key === null ? {} : { authorization: `Bearer ${init.key ?? testApiKey}` }), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (res.headers.get('content-type') ?? '').includes('text/event-stream') ? lastErrorEvent(text) : JSON.parse(text) };
}

const lines: string[] = [];
const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
const observed = new Map<string, Observed>();
const thrown = new Map<string, string>();
let stack: LocalStack;
const cleanups: Array<() => Promise<unknown>> = [];
let metricsText = '';

const chatBody = (model: string, extra: Record<string, unknown> = {}) => ({ model, max_tokens: 8, messages: [{ role: 'user', content: 'hello' }], ...extra });

beforeAll(async () => {
  // Migration off, so a stream broken mid-answer shows the client its error event (with it on, another worker carries the stream on).
  stack = await startTestStack({ workers: 1, heartbeatMs: 250, log, llmConfig: { migration: { attempts: 0 } } });
  const chat = `${stack.gatewayUrl}/v1/chat/completions`;
  const model = stack.models[0] as string;

  observed.set('auth-missing', await call(chat, { key: null, body: chatBody(model) }));
  observed.set('auth-wrong-key', await call(chat, { key: 'sk-not-a-key', body: chatBody(model) }));
  observed.set('admin-wrong-key', await call(`${stack.gatewayUrl}/admin/api/workers`, { key: testApiKey }));
  // A function with no worker: its model resolves, nothing serves it.
  const now = new Date().toISOString();
  await stack.gateway.catalog.putFunction({ id: 'idle', name: 'idle', functionType: 'LLM', createdAt: now });
  await stack.gateway.catalog.putVersion({ functionId: 'idle', versionId: 'v1', createdAt: now, models: [{ name: demoModel, llmConfig: { tokenizer: 'o200k' } }] });
  await waitFor(() => stack.routers.every((r) => r.catalog.resolve('idle', demoModel) !== undefined) && stack.gateway.catalog.resolve('idle', demoModel) !== undefined, 5_000);
  const scoped = await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'acme', functions: ['idle'] });
  expect(scoped.status).toBe(201);
  observed.set('auth-forbidden', await call(chat, { key: scoped.body.key, body: chatBody(model) }));

  observed.set('unknown-model', await call(chat, { body: chatBody('demo/no-such-model') }));
  observed.set('no-workers', await call(chat, { body: chatBody(`idle/${demoModel}`) }));

  // A worker that is draining: still in the table, taking nothing new.
  const { nkeySeed: spareSeed } = await stack.addWorkerIdentity('w-spare', { functionId: 'idle', versionId: 'v1', model: demoModel });
  const spare = await runWorker({ natsUrl: stack.natsUrl, nkeySeed: spareSeed, log, engineKind: 'vllm', engineUrl: stack.sims[0]!.url, workerId: 'w-spare',
    functionId: 'idle', versionId: 'v1', model: demoModel, heartbeatMs: 250 });
  await waitFor(() => stack.routers.every((r) => r.table.get('w-spare') !== undefined), 5_000);
  expect((await admin(stack, 'POST', '/admin/api/workers/w-spare/drain')).status).toBe(202);
  await waitFor(() => stack.routers.every((r) => r.table.get('w-spare')?.load.state === 'draining'), 5_000);
  const drained = await call(chat, { body: chatBody(`idle/${demoModel}`) });
  observed.set('draining', drained);
  observed.set('draining-decision', await call(`${stack.gatewayUrl}/admin/api/decisions/${drained.headers?.get('x-request-id')}`, { key: testAdminKey }));
  await spare.stop();
  await waitFor(() => stack.routers.every((r) => r.table.get('w-spare') === undefined), 5_000);

  const limited = await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'acme', requestRateLimit: '1-M' });
  expect((await call(chat, { key: limited.body.key, body: chatBody(model) })).status).toBe(200);
  observed.set('rate-limited', await call(chat, { key: limited.body.key, body: chatBody(model) }));

  observed.set('stream-cut', await call(chat, { body: chatBody(model, { stream: true, max_tokens: 20, messages: [{ role: 'user', content: 'hello [[sim:cut-after:3]]' }] }) }));

  // Worker credentials: an identity with no binding (routers refuse it), an engine that refuses the worker's key.
  const { nkeySeed } = await stack.addWorkerIdentity('w-unbound', null);
  const unbound = await runWorker({ natsUrl: stack.natsUrl, nkeySeed, log, engineKind: 'vllm', engineUrl: stack.sims[0]!.url, workerId: 'w-unbound',
    functionId: 'idle', versionId: 'v1', model: demoModel, heartbeatMs: 250 });
  cleanups.push(() => unbound.stop());
  await waitFor(() => lines.some((l) => l.includes("refused worker 'w-unbound'")), 5_000);
  observed.set('worker-unbound', await call(chat, { body: chatBody(`idle/${demoModel}`) }));
  const keyed = await startSim({ format: 'openai', models: [demoModel], apiKey: 'sk-engine-right' });
  cleanups.push(() => keyed.close());
  const refusedKey = await runWorker({ natsUrl: stack.natsUrl, ...stack.natsCredentials, log, engineKind: 'openai', engineUrl: keyed.url, engineApiKey: 'sk-engine-wrong',
    functionId: 'idle', versionId: 'v1', model: demoModel, heartbeatMs: 250, engineWaitMs: 1_000 }).catch((e: Error) => e);
  thrown.set('engine-key', refusedKey instanceof Error ? refusedKey.message : 'it started');
  observed.set('engine-key-direct', await call(`${keyed.url}/v1/models`, { key: 'sk-engine-wrong' }));

  // A NATS identity the server does not know (a wrong or stale seed file).
  const stranger = await Promise.race([
    runWorker({ natsUrl: stack.natsUrl, nkeySeed: newIdentity().seed, log, engineKind: 'vllm', engineUrl: stack.sims[0]!.url,
      functionId: 'idle', versionId: 'v1', model: demoModel, heartbeatMs: 250 }).then((w) => (cleanups.push(() => w.stop()), 'it started'), (e: Error) => e.message),
    new Promise<string>((r) => setTimeout(() => r('no answer within 10 s'), 10_000)),
  ]);
  thrown.set('nats-unknown-identity', stranger);

  // Engine not ready: nothing listens at its URL yet; the worker waits (saying so every 5 s), then gives up.
  const notReady = await runWorker({ natsUrl: stack.natsUrl, ...stack.natsCredentials, log, engineKind: 'vllm', engineUrl: 'http://127.0.0.1:9',
    functionId: 'idle', versionId: 'v1', model: demoModel, heartbeatMs: 250, engineWaitMs: 6_000 }).catch((e: Error) => e);
  thrown.set('engine-not-ready', notReady instanceof Error ? notReady.message : 'it started');

  // NATS down, last: the gateway stays up, says it is not ready, and answers requests with a 503.
  await stack.nats!.stop();
  await waitFor(async () => (await fetch(`${stack.gatewayUrl}/ready`)).status === 503, 5_000);
  observed.set('nats-ready', await call(`${stack.gatewayUrl}/ready`, { key: null }));
  observed.set('nats-down', await call(chat, { body: chatBody(model) }));
  observed.set('nats-admin', await call(`${stack.gatewayUrl}/admin/api/functions`, { key: testAdminKey, body: { id: 'later', name: 'later' } }));
  metricsText = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
}, 90_000);

afterAll(async () => {
  for (const c of cleanups) await c().catch(() => undefined);
  await stack?.stop();
});

describe('docs/troubleshooting.md', () => {
  const all = examples();

  it('covers every case the issue names, each with a checked client symptom', () => {
    const checked = new Set(all.filter((e) => e.kind === 'check').map((e) => e.id));
    for (const id of ['auth-missing', 'auth-wrong-key', 'auth-forbidden', 'unknown-model', 'no-workers', 'rate-limited', 'stream-cut', 'worker-unbound', 'nats-down']) {
      expect(checked, `no checked example '${id}'`).toContain(id);
    }
    const doc = readFileSync('docs/troubleshooting.md', 'utf8');
    for (const heading of ['Auth failures', 'No routable workers: 404 or 503', 'Rate limiting', 'Streaming interruption', 'Worker credential issues', 'Engine not ready', 'NATS down']) {
      expect(doc).toContain(`## ${heading}`);
    }
  });

  it.each(all.filter((e) => e.kind === 'check').map((e) => [e.id, e.text] as const))('%s: the status, headers and error body are what the stack answers', (id, text) => {
    const real = observed.get(id);
    expect(real, `the test provokes no case '${id}'`).toBeDefined();
    const doc = parseHttpExample(text);
    expect(real?.status).toBe(doc.status);
    for (const [name, value] of doc.headers) expect(real?.headers?.get(name) ?? undefined, `header ${name}`).toMatch(pattern(value));
    expect(within(doc.body, real?.body)).toEqual([]);
  });

  it.each(all.filter((e) => e.kind === 'check-log').map((e) => [e.id, e.text] as const))('%s: the log line is one the stack wrote', (_id, text) => {
    const doc = JSON.parse(text) as unknown;
    const matches = lines.map((l) => JSON.parse(l) as unknown).filter((l) => within(doc, l).length === 0);
    expect(matches.length, `no log line matches ${text}; the stack wrote:\n${lines.join('\n')}`).toBeGreaterThan(0);
  });

  it.each(all.filter((e) => e.kind === 'check-error').map((e) => [e.id, e.text] as const))('%s: the error is the one the role stops with', (id, text) => {
    expect(thrown.has(id), `the test provokes no case '${id}'`).toBe(true);
    // The CLI prints a role's start failure as `llmux: <message>` (src/cli/main.ts).
    expect(`llmux: ${thrown.get(id)}`).toMatch(pattern(text.trim()));
  });

  it.each(all.filter((e) => e.kind === 'check-metric').map((e) => [e.id, e.text] as const))('%s: the metric samples are the gateway\'s', (_id, text) => {
    for (const line of text.trim().split('\n')) {
      const [series = '', value = ''] = line.split(/ (?=[^ ]+$)/);
      const real = metricsText.split('\n').find((l) => l.startsWith(`${series} `));
      expect(real, `no sample ${series} in /metrics`).toBeDefined();
      expect(real?.slice(series.length + 1)).toMatch(pattern(value));
    }
  });
});
