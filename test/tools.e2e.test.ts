// Tool calls end to end on a real nats-server: client → gateway → router → worker → adapter → the
// simulator, which answers [[sim:tool-calls:…]] with those calls in its engine's wire format. The
// official openai client (streamed and whole, parallel calls, a forced tool_choice, the 400s), the
// Vercel AI SDK and LangChain's ChatOpenAI; Anthropic's and Ollama's translations; and an engine
// without tools refusing them with a 400 `unsupported`.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, jsonSchema, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { type SimServer, startSim } from '../src/sim/sim-server.js';
import { toolCallsDirective } from '../src/sim/tool-calls.js';
import { admin } from './support/routing.js';
import { clientFor, startTestStack, testApiKey } from './support/stack.js';

type ApiError = InstanceType<typeof OpenAI.APIError>;

const tools: OpenAI.ChatCompletionFunctionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'The weather in a place', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } } },
  { type: 'function', function: { name: 'get_time', description: 'The time in a place', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } } },
];
const both = toolCallsDirective('get_weather', 'get_time');
const argumentsShape = { query: expect.stringMatching(/^\w+ \w+ \w+$/) };

function expectBothCalls(calls: Array<{ id: string; type?: string; function: { name: string; arguments: string } }> | undefined): void {
  expect(calls?.map((c) => c.function.name)).toEqual(['get_weather', 'get_time']);
  for (const call of calls ?? []) {
    expect(call.id).toMatch(/\S{8,}/);
    expect(JSON.parse(call.function.arguments)).toEqual(argumentsShape);
  }
  expect(new Set(calls?.map((c) => c.id)).size).toBe(2);
}

describe('tools - the official openai client against vLLM', () => {
  let stack: LocalStack;
  let client: OpenAI;
  let model: string;

  beforeAll(async () => {
    stack = await startTestStack({ workers: 1 });
    client = clientFor(stack);
    model = stack.models[0] as string;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers with two parallel calls, whole: content null, finish_reason tool_calls, usage counted', async () => {
    const res = await client.chat.completions.create({ model, tools, messages: [{ role: 'user', content: `weather and time in Paris ${both}` }] });
    const choice = res.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expectBothCalls(choice.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[]);
    expect(res.usage?.completion_tokens).toBe(12); // two calls of a name and five argument pieces each
  });

  it('streams the calls as tool_calls deltas (id, type and name once, arguments in pieces) that the client joins', async () => {
    const stream = await client.chat.completions.create({ model, tools, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: `weather and time ${both}` }] });
    const pieces: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      pieces.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(finish).toBe('tool_calls');
    expect(pieces.filter((p) => p.id !== undefined)).toHaveLength(2);
    expect(pieces.filter((p) => p.function?.arguments).length).toBeGreaterThanOrEqual(10);
    expect(usage?.completion_tokens).toBe(12);
    // The client's own accumulator (ChatCompletionStream) makes the same whole calls.
    const runner = client.chat.completions.stream({ model, tools, messages: [{ role: 'user', content: `weather and time ${both}` }] });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expectBothCalls(final.choices[0]?.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[]);
  });

  it('calls the function tool_choice names, with no directive in the prompt', async () => {
    for (const stream of [false, true]) {
      const runner = client.chat.completions.stream({ model, tools, stream, tool_choice: { type: 'function', function: { name: 'get_time' } }, messages: [{ role: 'user', content: 'what time is it?' }] } as never);
      const res = stream ? await runner.finalChatCompletion() : await client.chat.completions.create({ model, tools, tool_choice: { type: 'function', function: { name: 'get_time' } }, messages: [{ role: 'user', content: 'what time is it?' }] });
      expect((res.choices[0]?.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[]).map((c) => c.function.name)).toEqual(['get_time']);
    }
  });

  it('answers text with tool_choice none, whatever the prompt asks', async () => {
    const res = await client.chat.completions.create({ model, tools, tool_choice: 'none', max_tokens: 3, messages: [{ role: 'user', content: `hi ${both}` }] });
    expect(res.choices[0]?.message.tool_calls ?? []).toEqual([]);
    expect(res.choices[0]?.message.content?.split(' ')).toHaveLength(3);
  });

  it('relays token logprobs, streamed and whole: one entry per token, their tokens the text', async () => {
    const res = await client.chat.completions.create({ model, logprobs: true, max_tokens: 5, messages: [{ role: 'user', content: 'logprobs please' }] });
    const entries = res.choices[0]?.logprobs?.content ?? [];
    expect(entries).toHaveLength(5);
    expect(entries.map((e) => e.token).join('')).toBe(res.choices[0]?.message.content);
    const stream = await client.chat.completions.create({ model, logprobs: true, max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'logprobs please' }] });
    let text = '';
    const tokens: string[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      tokens.push(...(chunk.choices[0]?.logprobs?.content ?? []).map((e) => e.token));
    }
    expect(tokens).toHaveLength(5);
    expect(tokens.join('')).toBe(text);
  });

  it('takes a tool result back and answers it', async () => {
    const first = await client.chat.completions.create({ model, tools, messages: [{ role: 'user', content: `time? ${toolCallsDirective('get_time')}` }] });
    const call = first.choices[0]!.message.tool_calls![0]!;
    const res = await client.chat.completions.create({
      model, tools, max_tokens: 4,
      messages: [{ role: 'user', content: 'time?' }, first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: '12:00' }],
    });
    expect(res.choices[0]?.message.content?.split(' ')).toHaveLength(4);
  });

  it.each([
    [{ tool_choice: 'sometimes' }, 'tool_choice'],
    [{ tool_choice: { type: 'function', function: { name: 'launch' } } }, 'tool_choice'],
    [{ tools: [{ type: 'function', function: { name: 'bad name' } }] }, 'tools.0.function.name'],
    [{ response_format: { type: 'yaml' } }, 'response_format'],
    [{ top_logprobs: 2 }, 'top_logprobs'],
  ])('answers %j with a 400 naming %s, before any engine is asked', async (extra, param) => {
    const error = await client.chat.completions.create({ model, tools, messages: [{ role: 'user', content: 'hi' }], ...extra } as never).catch((e: unknown) => e as ApiError);
    expect(error).toMatchObject({ status: 400 });
    expect((error as ApiError).error).toMatchObject({ param: expect.stringMatching(new RegExp(`^${param.replaceAll('.', '\\.')}`)) });
  });
});

describe('tools - the Vercel AI SDK and LangChain against vLLM', () => {
  let stack: LocalStack;
  let model: string;
  const weather = { description: 'The weather in a place', inputSchema: jsonSchema<{ query: string }>({ type: 'object', properties: { query: { type: 'string' } }, required: ['query'] }) };

  beforeAll(async () => {
    stack = await startTestStack({ workers: 1 });
    model = stack.models[0] as string;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const provider = () => createOpenAICompatible({ name: 'llmux', baseURL: `${stack.gatewayUrl}/v1`, apiKey: testApiKey });

  it('ai generateText gets both tool calls, their inputs parsed', async () => {
    const result = await generateText({ model: provider()(model), tools: { get_weather: tool(weather), get_time: tool(weather) }, prompt: `weather and time ${both}` });
    expect(result.finishReason).toBe('tool-calls');
    expect(result.toolCalls.map((c) => c.toolName)).toEqual(['get_weather', 'get_time']);
    expect(result.toolCalls.map((c) => c.input)).toEqual([argumentsShape, argumentsShape]);
  });

  it('ai streamText streams both tool calls', async () => {
    const result = streamText({ model: provider()(model), tools: { get_weather: tool(weather), get_time: tool(weather) }, prompt: `weather and time ${both}` });
    const calls = await result.toolCalls;
    expect(await result.finishReason).toBe('tool-calls');
    expect(calls.map((c) => [c.toolName, c.input])).toEqual([['get_weather', argumentsShape], ['get_time', argumentsShape]]);
  });

  it('LangChain ChatOpenAI with bound tools gets both calls, whole and streamed', async () => {
    const llm = new ChatOpenAI({ model, apiKey: testApiKey, configuration: { baseURL: `${stack.gatewayUrl}/v1` }, maxRetries: 0 }).bindTools(tools);
    const message = await llm.invoke(`weather and time ${both}`);
    expect(message.tool_calls?.map((c) => [c.name, c.args])).toEqual([['get_weather', argumentsShape], ['get_time', argumentsShape]]);
    let joined: Awaited<ReturnType<typeof llm.invoke>> | undefined;
    for await (const chunk of await llm.stream(`weather and time ${both}`)) joined = joined ? joined.concat(chunk) : chunk;
    expect(joined?.tool_calls?.map((c) => [c.name, c.args])).toEqual([['get_weather', argumentsShape], ['get_time', argumentsShape]]);
  });
});

describe.each(['anthropic', 'ollama', 'tgi'] as const)('tools - through the %s adapter', (kind) => {
  let stack: LocalStack;
  let client: OpenAI;
  let model: string;
  const takesTools = kind !== 'tgi';

  beforeAll(async () => {
    stack = await startTestStack({ engineKind: kind, workers: 1 });
    client = clientFor(stack);
    model = stack.models[0] as string;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it.runIf(takesTools)('answers two parallel calls, streamed and whole, in OpenAI form', async () => {
    const whole = await client.chat.completions.create({ model, tools, messages: [{ role: 'user', content: `weather and time ${both}` }] });
    expect(whole.choices[0]?.finish_reason).toBe('tool_calls');
    expectBothCalls(whole.choices[0]?.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[]);
    const streamed = await client.chat.completions.stream({ model, tools, messages: [{ role: 'user', content: `weather and time ${both}` }] }).finalChatCompletion();
    expect(streamed.choices[0]?.finish_reason).toBe('tool_calls');
    expectBothCalls(streamed.choices[0]?.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[]);
  });

  it.runIf(kind === 'anthropic')('forces the function tool_choice names (Anthropic tool_choice type tool)', async () => {
    const res = await client.chat.completions.create({ model, tools, tool_choice: { type: 'function', function: { name: 'get_time' } }, messages: [{ role: 'user', content: 'time?' }] });
    expect((res.choices[0]?.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[]).map((c) => c.function.name)).toEqual(['get_time']);
  });

  it.runIf(kind !== 'ollama')(`answers logprobs with a 400 unsupported naming the ${kind} engine`, async () => {
    const error = await client.chat.completions.create({ model, logprobs: true, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e as ApiError);
    expect(error).toMatchObject({ status: 400 });
    expect((error as ApiError).error).toMatchObject({ code: 'unsupported', param: 'logprobs', message: expect.stringContaining(`the ${kind} engine`) });
  });

  it.runIf(kind !== 'anthropic')(`answers a forced tool_choice${takesTools ? '' : ' or any tools'} with a 400 unsupported naming the ${kind} engine`, async () => {
    const error = await client.chat.completions.create({ model, tools, tool_choice: 'required', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e as ApiError);
    expect(error).toMatchObject({ status: 400 });
    expect((error as ApiError).error).toMatchObject({ code: 'unsupported', message: expect.stringContaining(`the ${kind} engine`) });
    expect((error as ApiError).error).toMatchObject({ param: takesTools ? 'tool_choice' : 'tools' });
  });
});

describe('tools - through routes to direct backends', () => {
  let stack: LocalStack;
  let client: OpenAI;
  const sims: SimServer[] = [];

  beforeAll(async () => {
    stack = await startTestStack({ workers: 1 });
    client = clientFor(stack);
    const claude = await startSim({ format: 'anthropic', models: ['claude-x'] });
    const tgi = await startSim({ format: 'tgi', models: ['tgi-x'] });
    sims.push(claude, tgi);
    for (const [name, engine, url] of [['claude', 'anthropic', claude.url], ['tgi', 'tgi', tgi.url]] as const) {
      expect((await admin(stack, 'PUT', `/admin/api/backends/${name}`, undefined, { engine, url })).status).toBe(200);
    }
    expect((await admin(stack, 'PUT', '/admin/api/routes/claude', undefined, { match: { models: ['claude-x'] }, backends: [{ backend: 'claude', weight: 1 }] })).status).toBe(200);
    expect((await admin(stack, 'PUT', '/admin/api/routes/tgi', undefined, { match: { models: ['tgi-x'] }, backends: [{ backend: 'tgi', weight: 1 }] })).status).toBe(200);
  });

  afterAll(async () => {
    await stack?.stop();
    for (const sim of sims) await sim.close();
  });

  it('relays an Anthropic backend\'s parallel tool_use blocks as OpenAI tool calls, streamed and whole', async () => {
    const whole = await client.chat.completions.create({ model: 'claude-x', tools, messages: [{ role: 'user', content: `weather and time ${both}` }] });
    expect(whole.choices[0]?.finish_reason).toBe('tool_calls');
    expectBothCalls(whole.choices[0]?.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[]);
    const streamed = await client.chat.completions.stream({ model: 'claude-x', tools, messages: [{ role: 'user', content: `weather and time ${both}` }] }).finalChatCompletion();
    expectBothCalls(streamed.choices[0]?.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[]);
  });

  it('answers tools for a TGI backend with a 400 unsupported naming the engine, not a 502', async () => {
    const error = await client.chat.completions.create({ model: 'tgi-x', tools, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e as ApiError);
    expect(error).toMatchObject({ status: 400 });
    expect((error as ApiError).error).toMatchObject({ code: 'unsupported', param: 'tools', message: expect.stringContaining('the tgi engine') });
  });
});
