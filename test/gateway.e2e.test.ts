// The request path end to end on a real nats-server: OpenAI client → gateway → router → worker →
// vLLM adapter → engine simulator, over real HTTP and NATS on loopback.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { clientFor, startTestStack, testApiKey, waitFor } from './support/stack.js';

let stack: LocalStack;
let client: OpenAI;
let model: string;

beforeAll(async () => {
  stack = await startTestStack();
  client = clientFor(stack);
  model = stack.models[0] as string;
});

afterAll(async () => {
  await stack?.stop();
});

const simRequests = (): number => stack.sims.reduce((n, s) => n + s.stats().requestsTotal, 0);
const simAborted = (): number => stack.sims.reduce((n, s) => n + s.stats().aborted, 0);

describe('gateway - OpenAI API through the whole stack', () => {
  it('lists the demo model as <function-id>/<model-name>', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain(model);
  });

  it('answers a non-streaming chat request with the client model string and usage', async () => {
    const before = simRequests();
    const res = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello there' }], max_tokens: 7 });
    expect(res.model).toBe(model);
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]?.message.role).toBe('assistant');
    expect(res.choices[0]?.message.content?.split(' ').length).toBe(7);
    expect(res.choices[0]?.finish_reason).toBe('length');
    expect(res.usage?.completion_tokens).toBe(7);
    expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(simRequests()).toBe(before + 1);
  });

  it('sends the engine the bare model name', async () => {
    await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'which model?' }], max_tokens: 2 });
    const bare = model.slice(model.indexOf('/') + 1);
    const seen = stack.sims.map((s) => s.stats().byModel);
    expect(seen.some((byModel) => (byModel[bare] ?? 0) > 0)).toBe(true);
    expect(seen.every((byModel) => byModel[model] === undefined)).toBe(true);
  });

  it('streams a chat answer as SSE chunks ending with a finish reason', async () => {
    const stream = await client.chat.completions.create({ model, stream: true, max_tokens: 5, messages: [{ role: 'user', content: 'count' }] });
    let text = '';
    const finish: Array<string | null> = [];
    let usageChunks = 0;
    for await (const chunk of stream) {
      expect(chunk.model).toBe(model);
      if (chunk.usage) usageChunks++;
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        finish.push(c.finish_reason);
      }
    }
    expect(text.split(' ').length).toBe(5);
    expect(finish.at(-1)).toBe('length');
    expect(usageChunks).toBe(0);
  });

  it('honours stream_options.include_usage with a final usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model, stream: true, max_tokens: 4, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'usage please' }],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBe(4);
    expect(last?.usage?.total_tokens).toBe((last?.usage?.prompt_tokens ?? 0) + 4);
  });

  it('serves completions, streaming and not, with exactly max_tokens tokens', async () => {
    const res = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 6 });
    expect(res.object).toBe('text_completion');
    expect(res.model).toBe(model);
    expect(res.choices[0]?.text.split(' ').length).toBe(6);
    expect(res.usage?.completion_tokens).toBe(6);

    const stream = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 6, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(res.choices[0]?.text);
  });

  it('rejects a wrong API key with 401 invalid_api_key', async () => {
    const bad = clientFor(stack, 'sk-wrong');
    const error = await bad.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');
  });

  it('rejects a missing API key with 401, also on /v1/models', async () => {
    const res = await fetch(`${stack.gatewayUrl}/v1/models`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
  });

  it('answers an unknown model with 404 no_eligible_candidates', async () => {
    const error = await client.chat.completions.create({ model: 'demo/no-such-model', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('no_eligible_candidates');
  });

  it('answers a malformed body with 400 naming the field', async () => {
    const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: -3 }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.param).toBe('max_tokens');

    const notJson = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${testApiKey}` }, body: '{"model": ',
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { param: string } }).error.param).toBe('body');
  });

  it('answers a body nested 100,000 levels deep with 400, and keeps serving', async () => {
    const deep = `{"model":"${model}","messages":[{"role":"user","content":"hi"}],"metadata":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' }, body: deep,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string; param: string } }).error).toMatchObject({ param: 'body', message: expect.stringMatching(/deeper than 64/) });
    const after = await client.chat.completions.create({ model, max_tokens: 2, messages: [{ role: 'user', content: 'still there?' }] });
    expect(after.choices[0]?.message.content).toBeTruthy();
  });

  it('answers 502 upstream_error when the engine fails before the first byte', async () => {
    const error = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'please [[sim:fail]]' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_error');
  });

  it('carries a stream its engine cuts after output started on to the other worker: the client reads one whole answer', async () => {
    const stream = await client.chat.completions.create({
      model, stream: true, max_tokens: 20, messages: [{ role: 'user', content: 'cut me [[sim:cut-after:3]]' }],
    });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text.split(' ').filter(Boolean).length).toBe(20);
    expect(finish).toBe('length');
  });

  it('cancels the engine request when the client aborts mid-stream', async () => {
    const abortedBefore = simAborted();
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model, stream: true, max_tokens: 2000, messages: [{ role: 'user', content: 'a long answer please' }] },
      { signal: controller.signal },
    );
    let chunks = 0;
    await (async () => {
      for await (const _ of stream) {
        if (++chunks === 3) controller.abort();
      }
    })().catch(() => undefined);
    const tookMs = await waitFor(() => simAborted() > abortedBefore, 1000);
    expect(tookMs).toBeLessThan(1000);
    expect(chunks).toBeGreaterThanOrEqual(3);
  });

  it('carries an x-request-id on every response', async () => {
    const res = await fetch(`${stack.gatewayUrl}/v1/models`, { headers: { authorization: `Bearer ${testApiKey}`, 'x-request-id': 'req-123' } });
    expect(res.headers.get('x-request-id')).toBe('req-123');
    const other = await fetch(`${stack.gatewayUrl}/health`);
    expect(other.headers.get('x-request-id')).toMatch(/^[0-9a-f]{24}$/);
  });

  it('exposes request, latency and token counters on /metrics', async () => {
    const text = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
    expect(text).toMatch(/llmux_gateway_requests_total\{route="\/v1\/chat\/completions",status="200"\} [1-9]/);
    expect(text).toMatch(/llmux_gateway_requests_total\{route="\/v1\/chat\/completions",status="401"\} [1-9]/);
    expect(text).toMatch(/gen_ai_client_token_usage_total\{gen_ai_token_type="output",gen_ai_request_model="demo\/llmux-sim-8b"\} [1-9]/);
    expect(text).toContain('gen_ai_server_request_duration_seconds_bucket');
    expect(text).toContain('gen_ai_server_time_to_first_token_seconds_bucket');
    expect(text).toMatch(/llmux_gateway_client_disconnects_total [1-9]/);
  });

  it('applies a control-plane change live: a new function is listed and served without a restart', async () => {
    const catalog = stack.gateway.catalog;
    await catalog.putFunction({ id: 'fresh', name: 'fresh', functionType: 'LLM', createdAt: new Date().toISOString() });
    await catalog.putVersion({ functionId: 'fresh', versionId: 'v1', createdAt: new Date().toISOString(), models: [{ name: 'llmux-sim-8b', llmConfig: {} }] });
    await waitFor(async () => (await client.models.list()).data.some((m) => m.id === 'fresh/llmux-sim-8b'), 3000);
    // The gateway's catalog saw its own write at once; the router learns it through its KV watch, and
    // until then would call the model unknown (404): on a loaded machine that window is wide.
    await waitFor(() => stack.router.catalog.resolve('fresh', 'llmux-sim-8b') !== undefined, 3000);
    // No worker serves `fresh` yet: known but unserved is a 503, not a 404.
    const error = await client.chat.completions.create({ model: 'fresh/llmux-sim-8b', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
  });
});
