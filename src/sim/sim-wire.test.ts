// The simulator over real HTTP on loopback speaks vLLM's OpenAI-compatible wire format exactly.
import { describe, expect, it } from 'vitest';
import { chatBody, metric, post, simulators, sseEvents } from './sim-test-support.js';

const startSim = simulators();
const chatId = expect.stringMatching(/^chatcmpl-[0-9a-f]{32}$/);
const cmplId = expect.stringMatching(/^cmpl-[0-9a-f]{32}$/);
const seconds = expect.any(Number);
const word = expect.stringMatching(/^ ?[a-z]+$/);

describe('sim wire format', () => {
  it('answers a chat request with exactly max_tokens tokens, the same text each time', async () => {
    const sim = await startSim();
    const first = await post(sim, '/v1/chat/completions', chatBody('hello', { max_tokens: 9 }));
    expect(first.headers.get('content-type')).toBe('application/json');
    const a = (await first.json()) as { choices: Array<{ message: { content: string } }> };
    const b = (await (await post(sim, '/v1/chat/completions', chatBody('hello', { max_tokens: 9 }))).json()) as typeof a;
    const text = a.choices[0]?.message.content ?? '';
    expect(text.split(' ')).toHaveLength(9);
    expect(b.choices[0]?.message.content).toBe(text);
    expect(a).toEqual({
      id: chatId,
      object: 'chat.completion',
      created: seconds,
      model: 'sim-model',
      choices: [{ index: 0, message: { role: 'assistant', reasoning_content: null, content: text, tool_calls: [] }, logprobs: null, finish_reason: 'length', stop_reason: null }],
      usage: { prompt_tokens: 2, completion_tokens: 9, total_tokens: 11, prompt_tokens_details: null },
      prompt_logprobs: null,
      kv_transfer_params: null,
    });
  });

  it('prefers max_completion_tokens over max_tokens in chat', async () => {
    const sim = await startSim();
    const res = await post(sim, '/v1/chat/completions', chatBody('hello', { max_tokens: 9, max_completion_tokens: 4 }));
    expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(4);
  });

  it('stops by itself after defaultMaxTokens when the request gives no limit', async () => {
    const sim = await startSim({ defaultMaxTokens: 5 });
    const res = await post(sim, '/v1/chat/completions', chatBody('hello'));
    const body = (await res.json()) as { choices: Array<{ finish_reason: string; message: { content: string } }> };
    expect(body.choices[0]?.finish_reason).toBe('stop');
    expect(body.choices[0]?.message.content.split(' ')).toHaveLength(5);
  });

  it('streams chat as vLLM does: role chunk, one chunk per token, finish reason, usage chunk, [DONE]', async () => {
    const sim = await startSim();
    const res = await post(sim, '/v1/chat/completions', chatBody('hi', { stream: true, max_tokens: 3, stream_options: { include_usage: true } }));
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = sseEvents(await res.text());
    const chunk = (choice: unknown) => ({ id: chatId, object: 'chat.completion.chunk', created: seconds, model: 'sim-model', choices: [choice], usage: null });
    const token = { index: 0, delta: { content: word }, logprobs: null, finish_reason: null };
    expect(events).toEqual([
      chunk({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }),
      chunk(token),
      chunk(token),
      chunk({ ...token, finish_reason: 'length', stop_reason: null }),
      { id: chatId, object: 'chat.completion.chunk', created: seconds, model: 'sim-model', choices: [], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } },
      '[DONE]',
    ]);
    const ids = new Set(events.slice(0, -1).map((e) => (e as { id: string }).id));
    expect(ids.size).toBe(1);
  });

  it('leaves usage off stream chunks when include_usage is not asked for', async () => {
    const sim = await startSim();
    const events = sseEvents(await (await post(sim, '/v1/chat/completions', chatBody('hi', { stream: true, max_tokens: 2 }))).text());
    expect(events).toHaveLength(4);
    for (const e of events.slice(0, -1)) expect(e).not.toHaveProperty('usage');
    expect(events.at(-1)).toBe('[DONE]');
  });

  it('streams the same text it answers without streaming', async () => {
    const sim = await startSim();
    const whole = (await (await post(sim, '/v1/chat/completions', chatBody('same', { max_tokens: 12 }))).json()) as { choices: Array<{ message: { content: string } }> };
    const events = sseEvents(await (await post(sim, '/v1/chat/completions', chatBody('same', { max_tokens: 12, stream: true }))).text());
    const streamed = events.slice(1, -1).map((e) => (e as { choices: Array<{ delta: { content: string } }> }).choices[0]?.delta.content).join('');
    expect(streamed).toBe(whole.choices[0]?.message.content);
  });

  it('streams completions as text_completion chunks with stop_reason on each', async () => {
    const sim = await startSim({ defaultMaxTokens: 2 });
    const res = await post(sim, '/v1/completions', { model: 'm', prompt: 'Once upon', stream: true, stream_options: { include_usage: true } });
    const chunk = (finish: string | null) => ({
      id: cmplId, object: 'text_completion', created: seconds, model: 'm',
      choices: [{ index: 0, text: word, logprobs: null, finish_reason: finish, stop_reason: null }], usage: null,
    });
    expect(sseEvents(await res.text())).toEqual([
      chunk(null),
      chunk('stop'),
      { id: cmplId, object: 'text_completion', created: seconds, model: 'm', choices: [], usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 } },
      '[DONE]',
    ]);
  });

  it('answers a completion without streaming as one text_completion body', async () => {
    const sim = await startSim();
    const body = await (await post(sim, '/v1/completions', { model: 'm', prompt: [[5, 6, 7]], max_tokens: 4 })).json();
    expect(body).toEqual({
      id: cmplId, object: 'text_completion', created: seconds, model: 'm',
      choices: [{ index: 0, text: expect.stringMatching(/^[a-z]+( [a-z]+){3}$/), logprobs: null, finish_reason: 'length', stop_reason: null, prompt_logprobs: null }],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: null },
      kv_transfer_params: null,
    });
  });

  it('lists its models, answers health, and counts requests by the model name it was sent', async () => {
    const sim = await startSim({ models: ['served-a', 'served-b'] });
    const list = await (await fetch(`${sim.url}/v1/models`)).json();
    expect(list).toMatchObject({ object: 'list', data: [{ id: 'served-a', object: 'model', owned_by: 'vllm' }, { id: 'served-b', owned_by: 'vllm' }] });
    await post(sim, '/v1/completions', { model: 'served-b', prompt: 'x', max_tokens: 1 });
    await post(sim, '/v1/completions', { model: 'anything', prompt: 'x', max_tokens: 1 });
    await post(sim, '/v1/completions', { prompt: 'x', max_tokens: 1 });
    expect(sim.stats()).toMatchObject({ requestsTotal: 3, byModel: { 'served-a': 1, 'served-b': 1, anything: 1 }, lastRequestBody: { prompt: 'x', max_tokens: 1 } });
    expect(await metric(sim, 'llmux_sim_requests_total{model="anything"}')).toBe(1);
    const health = await fetch(`${sim.url}/health`);
    expect([health.status, await health.text()]).toEqual([200, '']);
  });

  it('reports vLLM metrics: finished requests by reason and token counts', async () => {
    const sim = await startSim({ defaultMaxTokens: 3 });
    await post(sim, '/v1/chat/completions', chatBody('one two', { max_tokens: 5 }));
    await post(sim, '/v1/completions', { prompt: 'a b c' });
    const labels = 'model_name="llmux-sim-8b",engine="0"';
    expect(await metric(sim, `vllm:request_success_total{${labels},finished_reason="length"}`)).toBe(1);
    expect(await metric(sim, `vllm:request_success_total{${labels},finished_reason="stop"}`)).toBe(1);
    expect(await metric(sim, `vllm:prompt_tokens_total{${labels}}`)).toBe(3 + 3);
    expect(await metric(sim, `vllm:generation_tokens_total{${labels}}`)).toBe(5 + 3);
    expect(await metric(sim, `vllm:kv_cache_usage_perc{${labels}}`)).toBe(0);
  });

  it('answers unknown paths 404 and wrong methods 405, as vLLM’s FastAPI app does', async () => {
    const sim = await startSim();
    const missing = await fetch(`${sim.url}/v1/nothing`);
    expect([missing.status, await missing.json()]).toEqual([404, { detail: 'Not Found' }]);
    const wrong = await fetch(`${sim.url}/v1/chat/completions`);
    expect([wrong.status, await wrong.json()]).toEqual([405, { detail: 'Method Not Allowed' }]);
  });
});
