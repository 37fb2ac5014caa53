// POST /v1/messages (Anthropic's Messages API) end to end on a real nats-server, with plain fetch as
// an Anthropic client speaks it (x-api-key, anthropic-version): served as a chat completion, so the
// text and usage equal the chat answer's for the same prompt (the simulator is deterministic);
// Anthropic's event order; x-api-key auth and Anthropic's error shape; a tool use round trip; a
// mid-stream engine failure as an `event: error`; hostile bodies as 400s naming the field.
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { errorAfterDirective, FAIL_DIRECTIVE } from '../src/sim/faults.js';
import { type SimServer, startSim } from '../src/sim/sim-server.js';
import { admin } from './support/routing.js';
import { clientFor, startTestStack, testApiKey } from './support/stack.js';

let stack: LocalStack;
let client: OpenAI;
let model: string;

beforeAll(async () => {
  stack = await startTestStack({ workers: 1, auth: 'required', sim: { itlMs: 1 } });
  client = clientFor(stack);
  model = stack.models[0] as string;
});
afterAll(async () => {
  await stack?.stop();
});

type Json = Record<string, any>;

/** `null`: no x-api-key at all. */
const headersFor = (key: string | null): Record<string, string> => ({
  'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...(key !== null ? { 'x-api-key': key } : {}),
});

const post = async (body: unknown, key: string | null = testApiKey): Promise<{ status: number; json: Json }> => {
  const res = await fetch(`${stack.gatewayUrl}/v1/messages`, { method: 'POST', headers: headersFor(key), body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Json };
};

interface SseEvent {
  event: string;
  data: Json;
}

const stream = async (body: Json): Promise<SseEvent[]> => {
  const res = await fetch(`${stack.gatewayUrl}/v1/messages`, { method: 'POST', headers: headersFor(testApiKey), body: JSON.stringify({ ...body, stream: true }) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const text = await res.text();
  return text.split('\n\n').filter((block) => block.trim() !== '').map((block) => {
    const lines = block.split('\n');
    const event = lines.find((l) => l.startsWith('event: '))?.slice('event: '.length) ?? '';
    const data = JSON.parse(lines.find((l) => l.startsWith('data: '))?.slice('data: '.length) ?? 'null') as Json;
    expect(data.type).toBe(event);
    return { event, data };
  });
};

const chatAnswer = async (messages: OpenAI.Chat.ChatCompletionMessageParam[], maxTokens: number, tools?: OpenAI.Chat.ChatCompletionTool[]) => {
  const res = await client.chat.completions.create({ model, messages, max_tokens: maxTokens, ...(tools ? { tools } : {}) });
  return { message: res.choices[0]?.message, usage: res.usage, finish: res.choices[0]?.finish_reason };
};

const weatherTool = { name: 'get_weather', description: 'the weather in a city', input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } };
const chatWeatherTool = { type: 'function' as const, function: { name: weatherTool.name, description: weatherTool.description, parameters: weatherTool.input_schema } };

describe('messages - Anthropic\'s Messages API over the chat pipeline', () => {
  it('answers whole with the chat answer\'s text and exact usage, system as the system message', async () => {
    const res = await post({ model, max_tokens: 12, system: 'be brief', messages: [{ role: 'user', content: 'tell me about the sea' }] });
    const chat = await chatAnswer([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'tell me about the sea' }], 12);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      id: expect.stringMatching(/^msg_/), type: 'message', role: 'assistant', model, content: [{ type: 'text', text: chat.message?.content }],
      stop_reason: 'max_tokens', stop_sequence: null,
      usage: { input_tokens: chat.usage?.prompt_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 12 },
    });
  });

  it('takes system and content as text blocks, the same prompt as the chat messages', async () => {
    const res = await post({ model, max_tokens: 6, system: [{ type: 'text', text: 'sys ' }, { type: 'text', text: 'tem' }], messages: [
      { role: 'user', content: [{ type: 'text', text: 'one ' }, { type: 'text', text: 'two' }] },
      { role: 'assistant', content: 'three' },
      { role: 'user', content: 'four' },
    ] });
    const chat = await chatAnswer([{ role: 'system', content: 'sys tem' }, { role: 'user', content: 'one two' }, { role: 'assistant', content: 'three' }, { role: 'user', content: 'four' }], 6);
    expect(res.json.content).toEqual([{ type: 'text', text: chat.message?.content }]);
    expect(res.json.usage.input_tokens).toBe(chat.usage?.prompt_tokens);
  });

  it('streams Anthropic\'s event sequence with the same text and usage as whole', async () => {
    const body = { model, max_tokens: 8, messages: [{ role: 'user', content: 'stream about rivers' }] };
    const whole = await post(body);
    const events = await stream(body);
    const types = events.map((e) => e.event);
    const deltas = events.filter((e) => e.event === 'content_block_delta');
    expect(types.slice(0, 3)).toEqual(['message_start', 'ping', 'content_block_start']);
    expect(types.slice(3, 3 + deltas.length).every((t) => t === 'content_block_delta')).toBe(true);
    expect(types.slice(3 + deltas.length)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    // message_start states the gateway's own prompt count (what limits reserved); message_delta the final usage, as whole.
    expect(events[0]?.data.message).toEqual({ id: expect.stringMatching(/^msg_/), type: 'message', role: 'assistant', model, content: [],
      stop_reason: null, stop_sequence: null, usage: { input_tokens: expect.any(Number), cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 } });
    expect(events[0]?.data.message.usage.input_tokens).toBeGreaterThan(0);
    expect(events[2]?.data).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    for (const d of deltas) expect(d.data).toMatchObject({ index: 0, delta: { type: 'text_delta', text: expect.any(String) } });
    expect(deltas.map((d) => d.data.delta.text).join('')).toBe(whole.json.content[0].text);
    expect(events.at(-3)?.data).toEqual({ type: 'content_block_stop', index: 0 });
    expect(events.at(-2)?.data).toEqual({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: whole.json.usage });
  });

  it('takes the key as x-api-key: missing or wrong is a 401 in Anthropic\'s shape, without reaching an engine', async () => {
    const before = stack.sims[0]!.stats().requestsTotal;
    const body = { model, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] };
    for (const key of [null, 'sk-wrong', '', 'two words']) {
      const res = await post(body, key);
      expect(res.status, `x-api-key ${String(key)}`).toBe(401);
      expect(res.json).toEqual({ type: 'error', error: { type: 'authentication_error', message: expect.any(String) } });
      if (key === null) expect(res.json.error.message).toContain('x-api-key');
    }
    // Both headers, differing: refused rather than one picked.
    const both = await fetch(`${stack.gatewayUrl}/v1/messages`, { method: 'POST', headers: { ...headersFor(testApiKey), authorization: 'Bearer sk-other' }, body: JSON.stringify(body) });
    expect(both.status).toBe(401);
    expect(stack.sims[0]!.stats().requestsTotal).toBe(before);
    // The bearer form still works on this path, and x-api-key is nothing on another.
    const bearer = await fetch(`${stack.gatewayUrl}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${testApiKey}` }, body: JSON.stringify(body) });
    expect(bearer.status).toBe(200);
    const chat = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: headersFor(testApiKey), body: JSON.stringify(body) });
    expect(chat.status).toBe(401);
  });

  it('answers an unknown model with a 404 in Anthropic\'s shape', async () => {
    const res = await post({ model: 'nope/none', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining('nope/none') } });
  });

  it('answers a rate-limited request with a 429 and an engine failure with a 502, in Anthropic\'s shape', async () => {
    const key = (await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'limited', requestRateLimit: '1-M' })).body.key as string;
    const body = { model, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] };
    expect((await post(body, key)).status).toBe(200);
    const limited = await post(body, key);
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: expect.any(String) } });
    // A route whose one backend refuses connections (nothing listens on port 1).
    expect((await admin(stack, 'PUT', '/admin/api/backends/msg-dead', undefined, { engine: 'vllm', url: 'http://127.0.0.1:1' })).status).toBe(200);
    expect((await admin(stack, 'PUT', '/admin/api/routes/msg-dead', undefined, { match: { models: ['dead-model'] }, backends: [{ backend: 'msg-dead', weight: 1 }] })).status).toBe(200);
    const broken = await post({ model: 'dead-model', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });
    expect(broken.status).toBe(502);
    expect(broken.json).toEqual({ type: 'error', error: { type: 'api_error', message: expect.any(String) } });
    // On a function: the worker's engine refuses before any output.
    const refused = await post({ model, max_tokens: 2, messages: [{ role: 'user', content: `please ${FAIL_DIRECTIVE}` }] });
    expect(refused.status).toBeGreaterThanOrEqual(500);
    expect(refused.json).toEqual({ type: 'error', error: { type: 'api_error', message: expect.any(String) } });
  });

  it('answers tool use as the chat answer\'s tool calls, whole and streamed, and carries the tool result on', async () => {
    const prompt = 'weather in paris [[sim:tool-calls:get_weather]]';
    const chat = await chatAnswer([{ role: 'user', content: prompt }], 50, [chatWeatherTool]);
    const chatCall = chat.message?.tool_calls?.[0] as { function: { name: string; arguments: string } };
    const body = { model, max_tokens: 50, tools: [weatherTool], messages: [{ role: 'user', content: prompt }] };
    const res = await post(body);
    expect(res.json).toMatchObject({ stop_reason: 'tool_use', content: [{ type: 'tool_use', id: expect.any(String), name: 'get_weather', input: JSON.parse(chatCall.function.arguments) }],
      usage: { input_tokens: chat.usage?.prompt_tokens, output_tokens: chat.usage?.completion_tokens } });
    expect(res.json.content).toHaveLength(1);

    const events = await stream(body);
    expect(events.map((e) => e.event).filter((t) => t !== 'content_block_delta')).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(events[2]?.data.content_block).toEqual({ type: 'tool_use', id: expect.any(String), name: 'get_weather', input: {} });
    const pieces = events.filter((e) => e.event === 'content_block_delta').map((e) => e.data);
    for (const p of pieces) expect(p).toMatchObject({ index: 0, delta: { type: 'input_json_delta' } });
    expect(pieces.map((p) => p.delta.partial_json).join('')).toBe(chatCall.function.arguments);
    expect(events.at(-2)?.data).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: res.json.usage });

    // The round trip: the assistant's tool_use and the user's tool_result become chat's tool call and tool turn.
    const use = res.json.content[0] as { id: string; input: unknown };
    const second = await post({ model, max_tokens: 4, tools: [weatherTool], tool_choice: { type: 'none' }, messages: [
      { role: 'user', content: prompt },
      { role: 'assistant', content: [{ type: 'tool_use', id: use.id, name: 'get_weather', input: use.input }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: [{ type: 'text', text: 'sunny' }] }, { type: 'text', text: 'and so?' }] },
    ] });
    expect(stack.sims[0]!.stats().lastRequestBody).toMatchObject({ messages: [
      { role: 'user', content: prompt },
      { role: 'assistant', content: null, tool_calls: [{ id: use.id, type: 'function', function: { name: 'get_weather', arguments: JSON.stringify(use.input) } }] },
      { role: 'tool', tool_call_id: use.id, content: 'sunny' },
      { role: 'user', content: 'and so?' },
    ], tools: [chatWeatherTool], tool_choice: 'none' });
    expect(second.json).toMatchObject({ stop_reason: 'max_tokens', content: [{ type: 'text' }] });
  });

  it('ends a stream the engine breaks mid-answer with an error event after the text that came, never message_stop', async () => {
    const events = await stream({ model, max_tokens: 20, messages: [{ role: 'user', content: `break ${errorAfterDirective(3)}` }] });
    const types = events.map((e) => e.event);
    expect(types.filter((t) => t === 'content_block_delta')).toHaveLength(3);
    expect(types.at(-1)).toBe('error');
    expect(types).not.toContain('message_stop');
    expect(events.at(-1)?.data).toEqual({ type: 'error', error: { type: expect.stringMatching(/_error$/), message: expect.any(String) } });
  });

  it.each([
    ['no max_tokens', { messages: [{ role: 'user', content: 'hi' }] }, 'max_tokens'],
    ['max_tokens 0', { max_tokens: 0, messages: [{ role: 'user', content: 'hi' }] }, 'max_tokens'],
    ['no messages', { max_tokens: 5 }, 'messages'],
    ['a system role message', { max_tokens: 5, messages: [{ role: 'system', content: 'hi' }] }, 'messages.0.role'],
    ['an empty content array', { max_tokens: 5, messages: [{ role: 'user', content: [] }] }, 'messages.0.content'],
    ['an image block', { max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA==' } }] }] }, 'messages.0.content.0.type'],
    ['a tool_use block in a user message', { max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] }] }, 'messages.0.content.0.type'],
    ['a tool_use without input', { max_tokens: 5, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f' }] }] }, 'messages.1.content.0.input'],
    ['a tool_result without tool_use_id', { max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'x' }] }] }, 'messages.0.content.0.tool_use_id'],
    ['top_k', { max_tokens: 5, top_k: 5, messages: [{ role: 'user', content: 'hi' }] }, 'top_k'],
    ['temperature 1.5', { max_tokens: 5, temperature: 1.5, messages: [{ role: 'user', content: 'hi' }] }, 'temperature'],
    ['a server tool', { max_tokens: 5, tools: [{ type: 'web_search_20250305', name: 'web_search' }], messages: [{ role: 'user', content: 'hi' }] }, 'tools.0.type'],
    ['a tool with a bad name', { max_tokens: 5, tools: [{ ...weatherTool, name: 'no spaces' }], messages: [{ role: 'user', content: 'hi' }] }, 'tools.0.name'],
    ['tool_choice naming a tool not in tools', { max_tokens: 5, tools: [weatherTool], tool_choice: { type: 'tool', name: 'other' }, messages: [{ role: 'user', content: 'hi' }] }, 'tool_choice'],
    ['tool_choice any without tools', { max_tokens: 5, tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'hi' }] }, 'tool_choice'],
    ['an unknown tool_choice', { max_tokens: 5, tools: [weatherTool], tool_choice: { type: 'maybe' }, messages: [{ role: 'user', content: 'hi' }] }, 'tool_choice'],
    ['a non-text system block', { max_tokens: 5, system: [{ type: 'image' }], messages: [{ role: 'user', content: 'hi' }] }, 'system'],
    ['an unknown field', { max_tokens: 5, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'hi' }] }, 'thinking'],
    ['stream not a boolean', { max_tokens: 5, stream: 'yes', messages: [{ role: 'user', content: 'hi' }] }, 'stream'],
  ])('answers %s with a 400 in Anthropic\'s shape naming the field, without reaching an engine', async (_what, body, field) => {
    const before = stack.sims[0]!.stats().requestsTotal;
    const res = await post({ model, ...body });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining(`'${field}`) } });
    expect(stack.sims[0]!.stats().requestsTotal).toBe(before);
  });
});

describe('messages - on a route (a backend served from the gateway)', () => {
  let backend: SimServer;
  const routed = 'routed-messages-model';

  beforeAll(async () => {
    backend = await startSim({ format: 'vllm', models: [routed] });
    expect((await admin(stack, 'PUT', '/admin/api/backends/msg-b', undefined, { engine: 'vllm', url: backend.url })).status).toBe(200);
    expect((await admin(stack, 'PUT', '/admin/api/routes/msg-route', undefined, { match: { models: [routed] }, backends: [{ backend: 'msg-b', weight: 1 }] })).status).toBe(200);
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('translates and streams the same events as on a function, usage as whole', async () => {
    const body = { model: routed, max_tokens: 5, system: 'sys', messages: [{ role: 'user', content: 'route me' }] };
    const whole = await post(body);
    expect(whole.json).toMatchObject({ type: 'message', model: routed, stop_reason: 'max_tokens', usage: { output_tokens: 5 } });
    expect(backend.stats().lastRequestBody).toMatchObject({ messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'route me' }], max_tokens: 5 });
    const events = await stream(body);
    expect(events.map((e) => e.event).filter((t) => t !== 'content_block_delta')).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(events[0]?.data.message.usage.input_tokens).toBeGreaterThan(0);
    expect(events.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta.text).join('')).toBe(whole.json.content[0].text);
    expect(events.at(-2)?.data.usage).toEqual(whole.json.usage);
  });
});
