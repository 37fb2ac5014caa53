// POST /v1/responses end to end on a real nats-server: the official openai client's
// responses.create, whole and streamed, served natively by vLLM or as a chat completion (the simulator is
// deterministic, so the text and usage equal the chat answer's for the same prompt); the typed event
// sequence; stored responses (GET, previous_response_id carrying the conversation on, a foreign
// tenant's 404); a mid-stream engine failure as explicit failure events; hostile bodies as 400s.
import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { openUsageStream, readUsageRecords } from '../src/ledger/usage-ledger.js';
import { errorAfterDirective } from '../src/sim/faults.js';
import { type SimServer, startSim } from '../src/sim/sim-server.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { admin } from './support/routing.js';
import { clientFor, startTestStack, testApiKey } from './support/stack.js';

let stack: LocalStack;
let client: OpenAI;
let model: string;

beforeAll(async () => {
  stack = await startTestStack({ workers: 1, sim: { itlMs: 1 } });
  client = clientFor(stack);
  model = stack.models[0] as string;
});
afterAll(async () => {
  await stack?.stop();
});

const post = async (body: unknown, key = testApiKey): Promise<{ status: number; json: Record<string, any> }> => {
  const res = await fetch(`${stack.gatewayUrl}/v1/responses`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
};

const chatAnswer = async (messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>, maxTokens: number) => {
  const res = await client.chat.completions.create({ model, messages, max_tokens: maxTokens });
  return { text: res.choices[0]?.message.content ?? '', usage: res.usage };
};

const weatherTool = { type: 'function' as const, name: 'get_weather', description: 'the weather in a city', strict: false,
  parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } };
const chatWeatherTool = { type: 'function' as const, function: { name: weatherTool.name, description: weatherTool.description, strict: false, parameters: weatherTool.parameters } };

const collect = async (stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> => {
  const events: ResponseStreamEvent[] = [];
  for await (const e of stream) events.push(e);
  return events;
};

describe('responses - the official client end to end', () => {
  it('answers whole with the chat answer\'s text and exact usage, instructions as the system message', async () => {
    const res = await client.responses.create({ model, instructions: 'be brief', input: 'tell me about the sea', max_output_tokens: 12 });
    const chat = await chatAnswer([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'tell me about the sea' }], 12);
    expect(res).toMatchObject({ object: 'response', status: 'incomplete', model, instructions: 'be brief', max_output_tokens: 12, store: true });
    expect(res.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(res.output_text).toBe(chat.text);
    expect(res.output).toEqual([{ id: expect.stringMatching(/^msg_/), type: 'message', role: 'assistant', status: 'incomplete',
      content: [{ type: 'output_text', text: chat.text, annotations: [], logprobs: [] }] }]);
    expect(res.usage).toMatchObject({ input_tokens: chat.usage?.prompt_tokens, output_tokens: 12, total_tokens: (chat.usage?.prompt_tokens ?? 0) + 12 });
  });

  it('takes message items with input_text parts, the same prompt as chat messages', async () => {
    const res = await client.responses.create({ model, max_output_tokens: 6, input: [
      { role: 'user', content: [{ type: 'input_text', text: 'one ' }, { type: 'input_text', text: 'two' }] },
      { role: 'assistant', content: 'three' },
      { type: 'message', role: 'user', content: 'four' },
    ] });
    const chat = await chatAnswer([{ role: 'user', content: 'one two' }, { role: 'assistant', content: 'three' }, { role: 'user', content: 'four' }], 6);
    expect(res.output_text).toBe(chat.text);
    expect(res.usage?.input_tokens).toBe(chat.usage?.prompt_tokens);
  });

  it('streams the typed event sequence, numbered, with the same text and usage as whole', async () => {
    const whole = await client.responses.create({ model, input: 'stream about rivers', max_output_tokens: 8, store: false });
    const events = await collect(await client.responses.create({ model, input: 'stream about rivers', max_output_tokens: 8, stream: true, store: false }));
    const types = events.map((e) => e.type);
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(4, 4 + deltas.length).every((t) => t === 'response.output_text.delta')).toBe(true);
    expect(types.slice(4 + deltas.length)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.incomplete']);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const itemId = (events[2] as { item: { id: string } }).item.id;
    for (const d of deltas) expect(d).toMatchObject({ item_id: itemId, output_index: 0, content_index: 0 });
    const text = deltas.map((d) => d.delta).join('');
    expect(text).toBe(whole.output_text);
    expect(events.find((e) => e.type === 'response.output_text.done')).toMatchObject({ text });
    const last = events.at(-1) as { response: OpenAI.Responses.Response };
    expect(last.response.usage).toEqual(whole.usage);
    expect(last.response.output).toEqual(whole.output.map((item) => ({ ...item, id: itemId })));
  });

  it('ends a stream the engine finishes with response.completed', async () => {
    const events = await collect(await client.responses.create({ model, input: 'a short one', stream: true, store: false }));
    expect(events.at(-1)?.type).toBe('response.completed');
    const completed = events.at(-1) as { response: OpenAI.Responses.Response };
    expect(completed.response.status).toBe('completed');
    expect(completed.response.usage?.output_tokens).toBe(events.filter((e) => e.type === 'response.output_text.delta').length);
  });

  it('stores a response (GET returns it) and carries its conversation on with previous_response_id', async () => {
    const first = await client.responses.create({ model, instructions: 'only here', input: 'hello there', max_output_tokens: 5 });
    const got = await client.responses.retrieve(first.id);
    expect(got).toMatchObject({ id: first.id, output: first.output, usage: first.usage });
    const second = await client.responses.create({ model, input: 'and then?', previous_response_id: first.id, max_output_tokens: 5 });
    // What vLLM got, natively on its /v1/responses: the stored exchange before the new input as input items, nothing for it to store or look up.
    expect(stack.sims[0]!.stats().lastRequestBody).toEqual({ model: 'llmux-sim-8b', stream: false, store: false, max_output_tokens: 5, input: [
      { type: 'message', role: 'user', content: 'hello there' }, { type: 'message', role: 'assistant', content: first.output_text },
      { type: 'message', role: 'user', content: 'and then?' }] });
    // The engine saw the first exchange (not its instructions: OpenAI does not carry them over) and then the new input.
    const chat = await chatAnswer([{ role: 'user', content: 'hello there' }, { role: 'assistant', content: first.output_text }, { role: 'user', content: 'and then?' }], 5);
    expect(second.output_text).toBe(chat.text);
    expect(second.usage?.input_tokens).toBe(chat.usage?.prompt_tokens);
    expect(second.previous_response_id).toBe(first.id);
    // Streamed, a response is stored too, and chains on.
    const events = await collect(await client.responses.create({ model, input: 'more', previous_response_id: second.id, max_output_tokens: 4, stream: true }));
    const third = (events.at(-1) as { response: OpenAI.Responses.Response }).response;
    expect(stack.sims[0]!.stats().lastRequestBody).toMatchObject({ stream: true, store: false, max_output_tokens: 4 });
    const chat3 = await chatAnswer([...[{ role: 'user', content: 'hello there' }, { role: 'assistant', content: first.output_text }, { role: 'user', content: 'and then?' },
      { role: 'assistant', content: second.output_text }, { role: 'user', content: 'more' }] as const], 4);
    expect((third.output[0] as { content: Array<{ text: string }> }).content[0]?.text).toBe(chat3.text);
    expect((await client.responses.retrieve(third.id)).output_text).toBe(chat3.text);
  });

  it('does not store with store: false', async () => {
    const res = await client.responses.create({ model, input: 'forget me', max_output_tokens: 3, store: false });
    expect((res as { store?: boolean }).store).toBe(false);
    const error = await client.responses.retrieve(res.id).catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
  });

  it('answers another tenant\'s response id with the same 404 as an unknown one, on GET and as previous_response_id', async () => {
    const mine = await client.responses.create({ model, input: 'private words', max_output_tokens: 3 });
    const key = (await admin(stack, 'POST', '/admin/api/keys', undefined, { tenant: 'acme' })).body.key as string;
    const other = clientFor(stack, key);
    const foreign = await other.responses.retrieve(mine.id).catch((e: unknown) => e) as InstanceType<typeof OpenAI.APIError>;
    const unknown = await other.responses.retrieve(`resp_${'0'.repeat(32)}`).catch((e: unknown) => e) as InstanceType<typeof OpenAI.APIError>;
    expect(foreign.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(foreign.error).toEqual({ ...(unknown.error as object), message: (foreign.error as { message: string }).message });
    const chained = await post({ model, input: 'go on', previous_response_id: mine.id }, key);
    expect(chained.status).toBe(404);
    expect(chained.json.error).toMatchObject({ param: 'previous_response_id' });
    expect((await client.responses.retrieve(mine.id)).id).toBe(mine.id);
  });

  it('ends a stream the engine breaks mid-answer with an error event and response.failed, after the text that came', async () => {
    const events = await collect(await client.responses.create({ model, input: `break ${errorAfterDirective(3)}`, max_output_tokens: 20, stream: true }));
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(3);
    expect(types.slice(-2)).toEqual(['error', 'response.failed']);
    expect(types).not.toContain('response.completed');
    const failed = events.at(-1) as { response: OpenAI.Responses.Response };
    expect(failed.response.status).toBe('failed');
    expect(failed.response.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  });

  it('writes one ledger record per response with the usage it reported', async () => {
    const { data, response } = await client.responses.create({ model, input: 'for the ledger', max_output_tokens: 4 }).withResponse();
    const requestId = response.headers.get('x-request-id');
    await stack.gateway.ledger?.flush(10_000);
    const transport = await connectNats({ servers: stack.natsUrl, name: 'test-responses-ledger', ...stack.natsCredentials });
    try {
      const records = (await readUsageRecords(await openUsageStream(transport))).filter((r) => r.requestId === requestId);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ promptTokens: data.usage?.input_tokens, completionTokens: 4, status: 200, outcome: 'ok', tenant: 'default' });
    } finally {
      await transport.close();
    }
  });

  it('answers with function_call items for the tool calls the chat answer makes, whole and streamed', async () => {
    const input = 'weather in paris [[sim:tool-calls:get_weather]]';
    const chatRes = await client.chat.completions.create({ model, messages: [{ role: 'user', content: input }], tools: [chatWeatherTool] });
    const chatCall = chatRes.choices[0]?.message.tool_calls?.[0] as { function: { name: string; arguments: string } };
    const res = await client.responses.create({ model, input, tools: [weatherTool], store: false });
    expect(res.status).toBe('completed');
    expect(res.output).toEqual([{ id: expect.stringMatching(/^fc_/), type: 'function_call', call_id: expect.any(String), name: 'get_weather',
      arguments: chatCall.function.arguments, status: 'completed' }]);
    expect(JSON.parse((res.output[0] as { arguments: string }).arguments)).toEqual({ query: expect.any(String) });
    expect(res.usage).toMatchObject({ input_tokens: chatRes.usage?.prompt_tokens, output_tokens: chatRes.usage?.completion_tokens });

    const events = await collect(await client.responses.create({ model, input, tools: [weatherTool], store: false, stream: true }));
    const types = events.map((e) => e.type);
    const pieces = events.filter((e) => e.type === 'response.function_call_arguments.delta');
    expect(types.slice(0, 3)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added']);
    expect(types.slice(-3)).toEqual(['response.function_call_arguments.done', 'response.output_item.done', 'response.completed']);
    expect(types).not.toContain('response.output_text.delta');
    const added = events[2] as { item: { type: string; id: string; name: string } };
    expect(added.item).toMatchObject({ type: 'function_call', name: 'get_weather' });
    for (const p of pieces) expect(p).toMatchObject({ item_id: added.item.id, output_index: 0 });
    expect(pieces.map((p) => p.delta).join('')).toBe(chatCall.function.arguments);
    expect(events.at(-3)).toMatchObject({ name: 'get_weather', arguments: chatCall.function.arguments });
    expect((events.at(-1) as { response: OpenAI.Responses.Response }).response.usage).toEqual(res.usage);
  });

  it('carries a tool call on: the function_call_output after the stored call, as the chat turns the engine gets', async () => {
    const first = await client.responses.create({ model, input: 'weather in rome [[sim:tool-calls:get_weather]]', tools: [weatherTool] });
    const call = first.output[0] as { call_id: string; arguments: string };
    // tool_choice none: the directive is still in the conversation, and this turn is to answer in text.
    const second = await client.responses.create({ model, previous_response_id: first.id, tools: [weatherTool], tool_choice: 'none', max_output_tokens: 4,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny' }] });
    expect(stack.sims[0]!.stats().lastRequestBody).toMatchObject({ input: [
      { type: 'message', role: 'user', content: 'weather in rome [[sim:tool-calls:get_weather]]' },
      { type: 'function_call', call_id: call.call_id, name: 'get_weather', arguments: call.arguments },
      { type: 'function_call_output', call_id: call.call_id, output: 'sunny' },
    ], tools: [{ type: 'function', name: chatWeatherTool.function.name, parameters: chatWeatherTool.function.parameters }], tool_choice: 'none' });
    expect(second.output_text.split(' ')).toHaveLength(4);
  });

  it.each([
    ['no input', {}, 'input'],
    ['an empty input', { input: '' }, 'input'],
    ['an empty input array', { input: [] }, 'input'],
    ['a reasoning item', { input: [{ type: 'reasoning', summary: [] }] }, 'input.0.type'],
    ['a function_call without its call_id', { input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }, 'input.0.call_id'],
    ['a function_call_output without output', { input: [{ type: 'function_call_output', call_id: 'c' }] }, 'input.0.output'],
    ['tool_choice naming a function not in tools', { input: 'hi', tools: [weatherTool], tool_choice: { type: 'function', name: 'other' } }, 'tool_choice'],
    ['tool_choice required without tools', { input: 'hi', tool_choice: 'required' }, 'tool_choice'],
    ['a function tool with a bad name', { input: 'hi', tools: [{ ...weatherTool, name: 'no spaces allowed' }] }, 'tools.0.name'],
    ['an unknown role', { input: [{ role: 'robot', content: 'hi' }] }, 'input.0.role'],
    ['an image part', { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'http://x' }] }] }, 'input.0.content.0'],
    ['a number as an item', { input: [42] }, 'input.0'],
    ['a hosted tool', { input: 'hi', tools: [{ type: 'web_search' }] }, 'tools.0.type'],
    ['background', { input: 'hi', background: true }, 'background'],
    ['json output', { input: 'hi', text: { format: { type: 'json_object' } } }, 'text.format.type'],
    ['an unknown field', { input: 'hi', reasoning: { effort: 'high' } }, 'reasoning'],
    ['max_output_tokens 0', { input: 'hi', max_output_tokens: 0 }, 'max_output_tokens'],
    ['temperature 3', { input: 'hi', temperature: 3 }, 'temperature'],
    ['top_p -1', { input: 'hi', top_p: -1 }, 'top_p'],
    ['a malformed previous_response_id', { input: 'hi', previous_response_id: '../../etc' }, 'previous_response_id'],
    ['a non-string metadata value', { input: 'hi', metadata: { a: 1 } }, 'metadata.a'],
    ['store not a boolean', { input: 'hi', store: 'yes' }, 'store'],
  ])('answers %s with a 400 naming the field, without reaching an engine', async (_what, body, param) => {
    const before = stack.sims[0]!.stats().requestsTotal;
    const res = await post({ model, ...body });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ type: 'invalid_request_error', param });
    expect(stack.sims[0]!.stats().requestsTotal).toBe(before);
  });
});

// SGLang's OpenAI server has no Responses API here: the request is translated to a chat completion.
describe('responses - on a route to an engine without the Responses API (translated to chat)', () => {
  let backend: SimServer;
  const routed = 'routed-model';

  beforeAll(async () => {
    backend = await startSim({ format: 'sglang', models: [routed] });
    expect((await admin(stack, 'PUT', '/admin/api/backends/resp-b', undefined, { engine: 'sglang', url: backend.url })).status).toBe(200);
    expect((await admin(stack, 'PUT', '/admin/api/routes/resp-route', undefined, { match: { models: [routed] }, backends: [{ backend: 'resp-b', weight: 1 }] })).status).toBe(200);
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('translates, streams the same events, stores and chains as on a function', async () => {
    const first = await client.responses.create({ model: routed, input: 'route me', max_output_tokens: 5 });
    expect(first.output_text.split(' ').filter(Boolean)).toHaveLength(5);
    expect(backend.stats().lastRequestBody).toMatchObject({ messages: [{ role: 'user', content: 'route me' }], max_tokens: 5 });
    expect((await client.responses.retrieve(first.id)).output_text).toBe(first.output_text);
    const events = await collect(await client.responses.create({ model: routed, input: 'and on', previous_response_id: first.id, max_output_tokens: 3, stream: true }));
    expect(events.slice(0, 2).map((e) => e.type)).toEqual(['response.created', 'response.in_progress']);
    expect(events.at(-1)?.type).toBe('response.incomplete');
    expect(backend.stats().lastRequestBody).toMatchObject({ messages: [{ role: 'user', content: 'route me' }, { role: 'assistant', content: first.output_text }, { role: 'user', content: 'and on' }] });
    const streamed = (events.at(-1) as { response: OpenAI.Responses.Response }).response;
    const kept = await client.responses.retrieve(streamed.id);
    expect(kept.usage).toEqual(streamed.usage);
    expect(kept.output_text).toBe(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join(''));
  });
});

describe('responses - a stream whose engine dies mid-answer', () => {
  let two: LocalStack;
  beforeAll(async () => {
    two = await startTestStack({ workers: 2, heartbeatMs: 250, sim: { itlMs: 10 } });
  });
  afterAll(async () => {
    await two?.stop();
  });

  it('is carried on by another worker: one lifecycle, contiguous numbers, the undisturbed text and usage, stored whole', async () => {
    const c = clientFor(two);
    const m = two.models[0] as string;
    const input = `a long story about the sea ${Date.now()}`;
    const undisturbed = await collect(await c.responses.create({ model: m, input, max_output_tokens: 30, stream: true }));
    const events: ResponseStreamEvent[] = [];
    let killed: Promise<void> | undefined;
    for await (const e of await c.responses.create({ model: m, input, max_output_tokens: 30, stream: true })) {
      events.push(e);
      if (e.type === 'response.output_text.delta' && e.sequence_number === 10 && !killed) killed = two.sims.find((sim) => sim.stats().running > 0)?.close();
    }
    expect(killed, 'an engine was killed mid-stream').toBeDefined();
    const text = (list: ResponseStreamEvent[]) => list.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
    expect(text(events)).toBe(text(undisturbed));
    expect(events.filter((e) => e.type === 'response.created')).toHaveLength(1);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const last = events.at(-1) as { type: string; response: OpenAI.Responses.Response };
    expect(last.type).toBe('response.incomplete');
    expect(last.response.usage).toEqual((undisturbed.at(-1) as { response: OpenAI.Responses.Response }).response.usage);
    expect((await c.responses.retrieve(last.response.id)).output_text).toBe(text(undisturbed));
  });
});
