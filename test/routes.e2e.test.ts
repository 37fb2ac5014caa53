// Backends and routes on a real stack: weighted first choice, retries and fallback before the first
// byte (connect failures, 5xx only when asked), llm-d's admin routing API with owned_by selected by
// body, header or query, discovery, and validation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { embedText } from '../src/sim/embeddings.js';
import { type SimServer, startSim } from '../src/sim/sim-server.js';
import { admin } from './support/routing.js';
import { startTestStack, testApiKey } from './support/stack.js';

let stack: LocalStack;
let a: SimServer;
let b: SimServer;

beforeAll(async () => {
  stack = await startTestStack({ workers: 1 });
  a = await startSim({ format: 'openai', apiKey: 'sk-provider-a', models: ['gpt-4o-mini', 'provider-a-model'] });
  b = await startSim({ format: 'vllm', models: ['gpt-4o-mini', 'provider-b-model'] });
  expect((await admin(stack, 'PUT', '/admin/api/backends/a', undefined, { engine: 'openai', url: a.url, apiKey: 'sk-provider-a' })).status).toBe(200);
  expect((await admin(stack, 'PUT', '/admin/api/backends/b', undefined, { engine: 'vllm', url: b.url })).status).toBe(200);
  expect((await admin(stack, 'PUT', '/admin/api/backends/dead', undefined, { engine: 'vllm', url: 'http://127.0.0.1:1' })).status).toBe(200);
});
afterAll(async () => {
  await stack?.stop();
  await a?.close();
  await b?.close();
});

async function ask(model: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}, query = '') {
  const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions${query}`, {
    method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json', 'x-llmux-debug': '1', ...headers },
    body: JSON.stringify({ model, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
  const text = await res.text();
  return { status: res.status, backend: res.headers.get('x-llmux-backend'), body: body.stream ? text : JSON.parse(text) };
}

const route = (name: string, spec: Record<string, unknown>) => admin(stack, 'PUT', `/admin/api/routes/${name}`, undefined, spec);

describe('backends and routes', () => {
  it('falls back to the next backend on a connect failure, before the first byte, streaming or not', async () => {
    expect((await route('fallback', { match: { models: ['gpt-4o-mini'] }, backends: [{ backend: 'dead', weight: 1 }, { backend: 'b', weight: 0 }],
      retry: { retryOn: ['connect-failure'], attempts: 2, backoffMs: 10 } })).status).toBe(200);
    const before = b.stats().requestsTotal;
    const answer = await ask('gpt-4o-mini');
    expect(answer.status).toBe(200);
    expect(answer.backend).toBe('b');
    expect(answer.body.model).toBe('gpt-4o-mini');
    const streamed = await ask('gpt-4o-mini', { stream: true });
    expect(streamed.body).toContain('data: [DONE]');
    expect(b.stats().requestsTotal).toBe(before + 2);
  });

  it('retries a 5xx only when the route says so, and names every attempt when all fail', async () => {
    const failing = { messages: [{ role: 'user', content: '[[sim:fail]]' }] };
    await route('fallback', { match: { models: ['gpt-4o-mini'] }, backends: [{ backend: 'a', weight: 1 }, { backend: 'b', weight: 0 }], retry: { retryOn: ['connect-failure'] } });
    const [aBefore, bBefore] = [a.stats().requestsTotal, b.stats().requestsTotal];
    const notRetried = await ask('gpt-4o-mini', failing);
    expect(notRetried.status).toBe(502);
    expect([a.stats().requestsTotal - aBefore, b.stats().requestsTotal - bBefore]).toEqual([1, 0]);
    await route('fallback', { match: { models: ['gpt-4o-mini'] }, backends: [{ backend: 'a', weight: 1 }, { backend: 'b', weight: 0 }], retry: { retryOn: ['5xx'], attempts: 2, backoffMs: 1 } });
    const retried = await ask('gpt-4o-mini', failing);
    expect(retried.status).toBe(502);
    expect(retried.body.error.message).toContain("route 'fallback': 4 attempt(s) on a, b failed");
    expect([a.stats().requestsTotal - aBefore, b.stats().requestsTotal - bBefore]).toEqual([3, 2]);
  });

  it('serves embeddings on a route: the backend\'s vectors, usage and a fallback past a dead backend', async () => {
    await route('embed', { match: { models: ['text-embedding-3-small'] }, backends: [{ backend: 'dead', weight: 1 }, { backend: 'a', weight: 0 }],
      retry: { retryOn: ['connect-failure'], attempts: 1 } });
    const before = a.stats().embeddingRequests;
    const res = await fetch(`${stack.gatewayUrl}/v1/embeddings`, {
      method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json', 'x-llmux-debug': '1' },
      // Two words the simulator counts as two tokens, and a tokenizer as many more: the engine's count is the one reported.
      body: JSON.stringify({ model: 'text-embedding-3-small', input: ['supercalifragilistic', 'antidisestablishmentarianism'], dimensions: 8 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-llmux-backend')).toBe('a');
    const body = (await res.json()) as { data: Array<{ index: number; embedding: number[] }>; model: string; usage: unknown };
    expect(body.model).toBe('text-embedding-3-small');
    expect(body.data.map((d) => d.embedding)).toEqual([embedText('supercalifragilistic', 8), embedText('antidisestablishmentarianism', 8)]);
    expect(body.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
    expect(a.stats().embeddingRequests).toBe(before + 1);
    // A route whose backend has no embeddings: a 400 naming the engine, not a 502, and the backend is not called.
    expect((await admin(stack, 'PUT', '/admin/api/backends/generate-only', undefined, { engine: 'tgi', url: b.url })).status).toBe(200);
    await route('embed', { match: { models: ['text-embedding-3-small'] }, backends: [{ backend: 'generate-only', weight: 1 }] });
    const bBefore = b.stats().embeddingRequests + b.stats().requestsTotal;
    const refused = await fetch(`${stack.gatewayUrl}/v1/embeddings`, {
      method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'unsupported', message: expect.stringContaining('the tgi engine') });
    expect(b.stats().embeddingRequests + b.stats().requestsTotal).toBe(bBefore);
  });

  it('picks the first backend by weight', async () => {
    await route('fallback', { match: { models: ['gpt-4o-mini'] }, backends: [{ backend: 'a', weight: 3 }, { backend: 'b', weight: 1 }] });
    let onA = 0;
    for (let i = 0; i < 200; i++) if ((await ask('gpt-4o-mini')).backend === 'a') onA++;
    // Expected 150 of 200; the binomial standard deviation is about 6.
    expect(onA).toBeGreaterThan(120);
    expect(onA).toBeLessThan(180);
  });

  it("serves llm-d's admin routing API, with owned_by chosen by body field, x-owned-by header or query parameter", async () => {
    expect((await admin(stack, 'POST', '/admin/api/routing', undefined, { model: 'shared-model', owned_by: 'team-a', backend: 'a' })).status).toBe(200);
    expect((await admin(stack, 'POST', '/admin/api/routing', undefined, { model: 'shared-model', owned_by: 'team-b', backend: 'b' })).status).toBe(200);
    const routing = (await admin(stack, 'GET', '/admin/api/routing')).body.routing.filter((e: { model: string }) => e.model === 'shared-model');
    expect(routing.map((e: { owned_by: string; backend: string }) => `${e.owned_by}->${e.backend}`).sort()).toEqual(['team-a->a', 'team-b->b']);
    expect((await ask('shared-model', { owned_by: 'team-b' })).backend).toBe('b');
    expect((await ask('shared-model', { inference_server: 'team-a' })).backend).toBe('a');
    expect((await ask('shared-model', {}, { 'x-owned-by': 'team-a' })).backend).toBe('a');
    expect((await ask('shared-model', {}, {}, '?owned_by=team-b')).backend).toBe('b');
    const unknown = await ask('shared-model', { owned_by: 'team-z' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('no_eligible_candidates');
    const models = await (await fetch(`${stack.gatewayUrl}/v1/models`, { headers: { authorization: `Bearer ${testApiKey}` } })).json() as { data: Array<{ id: string; owned_by: string }> };
    expect(models.data.filter((m) => m.id === 'shared-model').map((m) => m.owned_by).sort()).toEqual(['team-a', 'team-b']);
    expect((await admin(stack, 'DELETE', '/admin/api/routing?model=shared-model&owned_by=team-a')).status).toBe(204);
    expect((await ask('shared-model', { owned_by: 'team-a' })).status).toBe(404);
    expect((await ask('shared-model')).backend).toBe('b');
    expect((await admin(stack, 'DELETE', '/admin/api/routing?model=shared-model')).body.error.param).toBe('owned_by');
  });

  it('discovers the models backends serve and routes them', async () => {
    const { body } = await admin(stack, 'POST', '/admin/discover');
    const byBackend = Object.fromEntries(body.discovered.map((d: { backend: string }) => [d.backend, d]));
    expect(byBackend.a.added).toContain('provider-a-model');
    expect(byBackend.b.added).toContain('provider-b-model');
    expect(byBackend.dead.error).toBeDefined();
    expect((await ask('provider-a-model')).backend).toBe('a');
    expect((await admin(stack, 'POST', '/admin/discover')).body.discovered.find((d: { backend: string }) => d.backend === 'a').added).toEqual([]);
  });

  it('validates at the boundary: unknown engines and backends are 400s naming the field, and keys are never returned', async () => {
    const badEngine = await admin(stack, 'PUT', '/admin/api/backends/x', undefined, { engine: 'gpt-engine', url: 'http://127.0.0.1:2' });
    expect(badEngine.body.error.param).toBe('engine');
    const badUrl = await admin(stack, 'PUT', '/admin/api/backends/x', undefined, { engine: 'vllm', url: 'ftp://example' });
    expect(badUrl.body.error.param).toBe('url');
    const badRoute = await route('broken', { match: { models: ['m'] }, backends: [{ backend: 'nope' }] });
    expect(badRoute.body.error.param).toBe('backends.0.backend');
    const badRetry = await route('broken', { match: { models: ['m'] }, backends: [{ backend: 'a' }], retry: { retryOn: ['4xx'] } });
    expect(badRetry.body.error.param).toBe('retry.retryOn.0');
    const listed = await admin(stack, 'GET', '/admin/api/backends');
    expect(JSON.stringify(listed.body)).not.toContain('sk-provider-a');
    expect(listed.body.backends.find((x: { name: string }) => x.name === 'a').apiKey).toBe('(set)');
    expect((await admin(stack, 'DELETE', '/admin/api/backends/b')).body.error.message).toContain('used by route(s)');
  });
});
