// The [[sim:tool-calls:…]] directive in every format that has tools, read back by that engine's own
// adapter over loopback HTTP: parallel calls in order, whole arguments, the finish reason, the
// tool choice obeyed, and the engine's raw wire shapes where they differ (Anthropic's tool_use
// blocks, Ollama's whole calls with object arguments).
import { describe, expect, it } from 'vitest';
import type { Delta, EngineEvent } from '../engine-adapters/adapter.js';
import { createEngineAdapter } from '../engine-adapters/registry.js';
import { chat } from '../operations/chat.js';
import { post, simulators } from './sim-test-support.js';
import { toolCallsDirective } from './tool-calls.js';

const start = simulators();

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
];

const formats = ['vllm', 'sglang', 'trtllm', 'llamacpp', 'openai', 'azure-openai', 'ollama', 'anthropic'] as const;

/** Whether the engine takes a tool_choice (its adapter declares it; Ollama's API has none). */
const takesToolChoice = (format: string): boolean =>
  createEngineAdapter(format, { baseUrl: 'http://127.0.0.1:1' }).features?.includes('forced-tool-choice') === true;

async function ask(format: string, content: string, extra: Record<string, unknown> = {}, stream = true) {
  const sim = await start({ format, ttftMs: 0, itlMs: 0, models: ['m'] });
  const adapter = createEngineAdapter(format, { baseUrl: sim.url });
  const events: EngineEvent[] = [];
  try {
    const body = { messages: [{ role: 'user', content }], tools, ...extra };
    for await (const batch of adapter.stream({ operation: 'chat', stream, model: 'm', requestId: 'r', body }, new AbortController().signal)) events.push(...batch);
  } finally {
    await adapter.close();
  }
  const answer = chat.answer({ operation: 'chat', model: 'm', stream, includeUsage: false, body: {} });
  answer.add({ type: 'deltas', deltas: events.flatMap((e) => (e.type === 'delta' ? [e.delta] : [])) });
  const choice = (answer.render({ id: 'x', created: 0, clientModel: 'm' }, { promptTokens: 1, completionTokens: 1 }).choices as Array<Record<string, unknown>>)[0]!;
  return { choice, message: choice.message as { content: string | null; tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }> }, deltas: events.flatMap((e) => (e.type === 'delta' ? [e.delta] : [])) as Delta[] };
}

describe.each(formats)('sim %s - tool calls on request', (format) => {
  for (const stream of [true, false]) {
    it(`answers ${toolCallsDirective('get_weather', 'get_time')} with both calls in order, arguments whole (${stream ? 'streamed' : 'whole'})`, async () => {
      const { choice, message } = await ask(format, `weather and time ${toolCallsDirective('get_weather', 'get_time')}`, {}, stream);
      expect(choice.finish_reason).toBe('tool_calls');
      expect(message.content).toBeNull();
      expect(message.tool_calls?.map((c) => c.function.name)).toEqual(['get_weather', 'get_time']);
      for (const call of message.tool_calls ?? []) {
        expect(call.type).toBe('function');
        expect(call.id).toMatch(/\S{8,}/);
        expect(JSON.parse(call.function.arguments)).toEqual({ query: expect.stringMatching(/^\w+ \w+ \w+$/) });
      }
      expect(new Set(message.tool_calls?.map((c) => c.id)).size).toBe(2);
    });
  }

  it('calls nothing the request did not declare, and nothing with tool_choice none', async () => {
    const undeclared = await ask(format, `hi ${toolCallsDirective('launch_rockets')}`);
    expect(undeclared.message.tool_calls).toBeUndefined();
    expect(undeclared.choice.finish_reason).not.toBe('tool_calls');
    if (!takesToolChoice(format)) return;
    const none = await ask(format, `hi ${toolCallsDirective('get_weather')}`, { tool_choice: 'none' });
    expect(none.message.tool_calls).toBeUndefined();
  });

  it.runIf(takesToolChoice(format))('calls the function tool_choice names, without a directive', async () => {
    const { message } = await ask(format, 'what time is it', { tool_choice: { type: 'function', function: { name: 'get_time' } } });
    expect(message.tool_calls?.map((c) => c.function.name)).toEqual(['get_time']);
  });
});

describe('sim - tool calls in each engine\'s raw wire format', () => {
  it('vllm streams a call as an id/type/name chunk, then argument pieces, then finish_reason tool_calls', async () => {
    const sim = await start({ format: 'vllm', ttftMs: 0, itlMs: 0 });
    const res = await post(sim, '/v1/chat/completions', { model: 'm', stream: true, tools, messages: [{ role: 'user', content: toolCallsDirective('get_weather') }] });
    const chunks = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)) as { choices: Array<{ delta: { tool_calls?: unknown[] }; finish_reason: string | null }> });
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toEqual({ id: expect.stringMatching(/^chatcmpl-tool-/), type: 'function', index: 0, function: { name: 'get_weather' } });
    expect(calls.slice(1).every((c) => Object.keys(c as object).join() === 'index,function')).toBe(true);
    expect(calls.length).toBe(6);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('anthropic streams tool_use blocks with input_json_delta and stops with tool_use', async () => {
    const sim = await start({ format: 'anthropic', ttftMs: 0, itlMs: 0 });
    const res = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'm', max_tokens: 100, stream: true, tools: [{ name: 'get_weather', input_schema: { type: 'object' } }, { name: 'get_time', input_schema: { type: 'object' } }],
        messages: [{ role: 'user', content: toolCallsDirective('get_weather', 'get_time') }] }),
    });
    const events = (await res.text()).split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('\n')[1]!.slice(6)) as Record<string, unknown>);
    const starts = events.filter((e) => e.type === 'content_block_start');
    expect(starts.map((e) => e.content_block)).toEqual([
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: {} },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_time', input: {} },
    ]);
    expect(events.filter((e) => e.type === 'content_block_delta').every((e) => (e.delta as { type: string }).type === 'input_json_delta')).toBe(true);
    expect(events.find((e) => e.type === 'message_delta')?.delta).toMatchObject({ stop_reason: 'tool_use' });
  });

  it('ollama sends the calls whole in message.tool_calls with object arguments, then done', async () => {
    const sim = await start({ format: 'ollama', ttftMs: 0, itlMs: 0 });
    const res = await post(sim, '/api/chat', { model: 'm', tools, messages: [{ role: 'user', content: toolCallsDirective('get_weather') }] });
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { message: { tool_calls?: Array<{ function: { name: string; arguments: unknown } }> }; done: boolean; done_reason?: string });
    expect(lines[0]?.message.tool_calls?.[0]?.function).toMatchObject({ name: 'get_weather', arguments: { query: expect.any(String) } });
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });
  });
});
