// One inference pipeline, two sources: the same model served by a function's workers (over NATS)
// and by a route's backend (straight from the gateway) gets the same context check, deadline,
// metrics, counting and per-request log line. Each case runs against both sources on a real stack.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { type SimServer, startSim } from '../src/sim/sim-server.js';
import { admin } from './support/routing.js';
import { startTestStack, testAdminKey, testApiKey, waitFor } from './support/stack.js';

const lines: Array<Record<string, unknown>> = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let stack: LocalStack;
let backend: SimServer;
const contextLength = 512;
const deadlineMs = 1_500;
const sources = [
  { source: 'function', model: 'demo/llmux-sim-8b', requests: () => stack.sims.reduce((n, s) => n + s.stats().requestsTotal, 0) },
  { source: 'route', model: 'route-model', requests: () => backend.stats().requestsTotal },
] as const;

beforeAll(async () => {
  stack = await startTestStack({
    workers: 1, log: pino({ level: 'info' }, sink), sim: { itlMs: 30 }, llmConfig: { contextLength, tokenizer: 'o200k' }, requestTimeoutMs: deadlineMs,
  });
  backend = await startSim({ format: 'vllm', models: ['route-model'], itlMs: 30 });
  expect((await admin(stack, 'PUT', '/admin/api/backends/sim', undefined, { engine: 'vllm', url: backend.url })).status).toBe(200);
  expect((await admin(stack, 'PUT', '/admin/api/routes/parity', undefined, {
    match: { models: ['route-model'] }, backends: [{ backend: 'sim' }], contextLength, tokenizer: 'o200k',
  })).status).toBe(200);
  expect((await admin(stack, 'PUT', '/admin/api/routes/uncountable', undefined, {
    match: { models: ['uncountable-model'] }, backends: [{ backend: 'sim' }], tokenizer: '/nonexistent/tokenizer.json',
  })).status).toBe(200);
  // The route table reaches the gateway through a KV watch.
  await waitFor(async () => (await ask('route-model', { max_tokens: 1 })).status === 200, 5_000);
});
afterAll(async () => {
  await stack?.stop();
  await backend?.close();
});

async function ask(model: string, body: Record<string, unknown> = {}, requestId?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json', ...(requestId ? { 'x-request-id': requestId } : {}) },
    body: JSON.stringify({ model, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }], ...body }),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, text: await res.text() };
}

const metricValue = (text: string, name: string, model: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(`gen_ai_request_model="${model}"`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
};

describe.each(sources)('the $source source', ({ source, model, requests }) => {
  it('refuses a prompt that cannot fit the context, with the numbers, before any engine is called', async () => {
    const before = requests();
    const answer = await ask(model, { max_tokens: 8, messages: [{ role: 'user', content: 'word '.repeat(600) }] });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).error.message).toMatch(/maximum context length is 512 tokens\. However, you requested \d+ tokens/);
    expect(requests()).toBe(before);
  });

  it('ends a request that passes its deadline with a timeout: 504, or an SSE error event mid-stream', async () => {
    // 200 tokens at 30 ms each take 6 s: far past the 1.5 s deadline.
    const whole = await ask(model, { max_tokens: 200 });
    expect(whole.status).toBe(504);
    expect(JSON.parse(whole.text).error.code).toBe('timeout');
    const streamed = await ask(model, { max_tokens: 200, stream: true });
    expect(streamed.status).toBe(200);
    expect(streamed.text).toContain('"code":"timeout"');
    expect(streamed.text).not.toContain('data: [DONE]');
  });

  it('counts a stream\'s TTFT and tokens in the gateway metrics, and logs one line naming the request and its trace', async () => {
    const scrape = async () => (await fetch(`${stack.gatewayUrl}/metrics`)).text();
    const before = await scrape();
    const requestId = `parity-${source}-${Date.now()}`;
    const answer = await ask(model, { max_tokens: 4, stream: true, stream_options: { include_usage: true } }, requestId);
    expect(answer.status).toBe(200);
    const usageEvent = answer.text.split('\n').find((l) => l.startsWith('data: {') && l.includes('"usage":{'));
    const usage = JSON.parse((usageEvent as string).slice('data: '.length)).usage as { prompt_tokens: number; completion_tokens: number };
    const after = await scrape();
    expect(metricValue(after, 'gen_ai_server_time_to_first_token_seconds_count', model) - metricValue(before, 'gen_ai_server_time_to_first_token_seconds_count', model)).toBe(1);
    expect(metricValue(after, 'gen_ai_client_token_usage_total{gen_ai_token_type="output"', model)
      - metricValue(before, 'gen_ai_client_token_usage_total{gen_ai_token_type="output"', model)).toBe(usage.completion_tokens);
    await waitFor(() => lines.some((l) => l.request_id === requestId && l.msg === 'request finished'), 2_000);
    const line = lines.find((l) => l.request_id === requestId && l.msg === 'request finished') as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, outcome: 'ok', status: 200, source, prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens });
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(typeof line.worker).toBe('string');
    expect(line.duration_ms as number).toBeGreaterThan(0);
    expect(line.ttft_ms as number).toBeLessThanOrEqual(line.duration_ms as number);
  });
});

describe('logs', () => {
  it('names the request and its trace on the worker\'s lines too, and never holds a key', async () => {
    const requestId = `parity-fail-${Date.now()}`;
    const answer = await ask('demo/llmux-sim-8b', { messages: [{ role: 'user', content: 'x [[sim:fail]]' }] }, requestId);
    expect(answer.status).toBeGreaterThanOrEqual(500);
    await waitFor(() => lines.some((l) => l.request_id === requestId && l.msg === 'request finished'), 2_000);
    const worker = lines.find((l) => l.request_id === requestId && l.msg === 'engine request failed');
    const finished = lines.find((l) => l.request_id === requestId && l.msg === 'request finished');
    expect(worker?.role).toBe('worker');
    expect(worker?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(worker?.trace_id).toBe(finished?.trace_id);
    expect(finished).toMatchObject({ outcome: 'failed', error_code: 'upstream_error' });
    const all = JSON.stringify(lines);
    expect(all).not.toContain(testApiKey);
    expect(all).not.toContain(testAdminKey);
  });
});

describe('counting', () => {
  it('answers 500 when the prompt cannot be counted, rather than calling the backend with a prompt counted as 0', async () => {
    const before = backend.stats().requestsTotal;
    const answer = await ask('uncountable-model');
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.text).error.message).toContain("cannot count prompt tokens with tokenizer '/nonexistent/tokenizer.json'");
    expect(backend.stats().requestsTotal).toBe(before);
  });
});
