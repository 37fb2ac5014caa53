// The engine simulator over real HTTP on loopback: vLLM's wire format, exact token counts,
// queueing, abort counting and fault directives.
import { afterEach, describe, expect, it } from 'vitest';
import { SseParser } from '../engine-adapters/sse.js';
import { type SimServer, startSim } from './sim-server.js';

const sims: SimServer[] = [];
afterEach(async () => {
  for (const s of sims.splice(0)) await s.close();
});

async function sim(options: Parameters<typeof startSim>[0] = {}): Promise<SimServer> {
  const s = await startSim(options);
  sims.push(s);
  return s;
}

const post = (s: SimServer, path: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${s.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...(signal ? { signal } : {}) });

async function sseJson(res: Response): Promise<Array<Record<string, unknown> | '[DONE]'>> {
  const parser = new SseParser();
  const events = [...parser.push(new Uint8Array(await res.arrayBuffer())), ...parser.end()];
  return events.map((e) => (e.data === '[DONE]' ? '[DONE]' : (JSON.parse(e.data) as Record<string, unknown>)));
}

const metric = async (s: SimServer, name: string): Promise<number> => {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return Number(line?.split(' ').at(-1));
};

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'm', messages: [{ role: 'user', content }], ...extra });

describe('engine simulator', () => {
  it('answers a chat request with exactly max_tokens tokens, deterministically', async () => {
    const s = await sim();
    const a = (await (await post(s, '/v1/chat/completions', chat('hello', { max_tokens: 9 }))).json()) as Record<string, any>;
    const b = (await (await post(s, '/v1/chat/completions', chat('hello', { max_tokens: 9 }))).json()) as Record<string, any>;
    expect(a.object).toBe('chat.completion');
    expect(a.choices[0].message.content.split(' ')).toHaveLength(9);
    expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
    expect(a.choices[0].finish_reason).toBe('length');
    expect(a.usage).toMatchObject({ completion_tokens: 9 });
  });

  it('streams vLLM chat chunks: role first, content, finish reason, usage with empty choices, [DONE]', async () => {
    const s = await sim();
    const events = await sseJson(await post(s, '/v1/chat/completions', chat('hi', { stream: true, max_tokens: 3, stream_options: { include_usage: true } })));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Array<Record<string, any>>;
    expect(chunks[0]?.choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks[0]?.usage).toBeNull();
    const content = chunks.slice(1, -1);
    expect(content).toHaveLength(3);
    expect(content.every((c) => c.object === 'chat.completion.chunk' && c.model === 'm')).toBe(true);
    expect(content.at(-1)?.choices[0].finish_reason).toBe('length');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 3 } });
  });

  it('streams completions as text_completion chunks and stops by itself without max_tokens', async () => {
    const s = await sim({ defaultMaxTokens: 5 });
    const events = await sseJson(await post(s, '/v1/completions', { model: 'm', prompt: 'Once', stream: true }));
    const chunks = events.slice(0, -1) as Array<Record<string, any>>;
    expect(chunks).toHaveLength(5);
    expect(chunks[0]?.object).toBe('text_completion');
    expect(chunks.at(-1)?.choices[0].finish_reason).toBe('stop');
  });

  it('queues requests beyond max concurrency and reports them waiting', async () => {
    const s = await sim({ maxConcurrency: 1, ttftMs: 1500 });
    const pending = [1, 2, 3].map(() => post(s, '/v1/chat/completions', chat('q', { max_tokens: 1 })));
    // Poll rather than sleep: on a busy machine the three requests may take a while to arrive.
    const started = Date.now();
    while (s.stats().waiting < 2 && Date.now() - started < 1400) await new Promise((r) => setTimeout(r, 10));
    expect(await metric(s, 'vllm:num_requests_running')).toBe(1);
    expect(await metric(s, 'vllm:num_requests_waiting')).toBe(2);
    expect((await Promise.all(pending)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await metric(s, 'vllm:num_requests_waiting')).toBe(0);
  });

  it('stops generating and counts an abort when the client goes away mid-stream', async () => {
    const s = await sim({ itlMs: 5 });
    const controller = new AbortController();
    const res = await post(s, '/v1/chat/completions', chat('long', { stream: true, max_tokens: 5000 }), controller.signal);
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    const started = Date.now();
    while ((await metric(s, 'llmux_sim_aborted_requests_total')) === 0 && Date.now() - started < 1000) await new Promise((r) => setTimeout(r, 10));
    expect(await metric(s, 'llmux_sim_aborted_requests_total')).toBe(1);
    expect(await metric(s, 'vllm:num_requests_running')).toBe(0);
    expect(s.stats().aborted).toBe(1);
  });

  it('fails with a vLLM error body on [[sim:fail]]', async () => {
    const s = await sim();
    const res = await post(s, '/v1/chat/completions', chat('x [[sim:fail]]'));
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('InternalServerError');
  });

  it('cuts the connection after N tokens on [[sim:cut-after:N]], without [DONE]', async () => {
    const s = await sim();
    const res = await post(s, '/v1/chat/completions', chat('x [[sim:cut-after:2]]', { stream: true, max_tokens: 10 }));
    const received: string[] = [];
    const decoder = new TextDecoder();
    const error = await (async () => {
      for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) received.push(decoder.decode(part));
    })().catch((e: unknown) => e);
    const text = received.join('');
    expect(error).toBeDefined();
    expect(text).not.toContain('[DONE]');
    expect(text.match(/"content":"[^"]+"/g)).toHaveLength(2);
  });

  it('answers bad requests with a 400 in vLLM’s error shape', async () => {
    const s = await sim();
    const missing = await post(s, '/v1/chat/completions', { model: 'm' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: { type: 'BadRequestError', param: 'messages', code: 400 } });
    const badMax = await post(s, '/v1/completions', { model: 'm', prompt: 'x', max_tokens: 0 });
    expect(badMax.status).toBe(400);
  });

  it('lists its models and counts requests by the model name it was sent', async () => {
    const s = await sim({ models: ['served-a'] });
    const list = (await (await fetch(`${s.url}/v1/models`)).json()) as { data: Array<{ id: string; owned_by: string }> };
    expect(list.data).toEqual([expect.objectContaining({ id: 'served-a', owned_by: 'vllm' })]);
    await post(s, '/v1/completions', { model: 'served-a', prompt: 'x', max_tokens: 1 });
    expect(s.stats().byModel).toEqual({ 'served-a': 1 });
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });
});
