// Chat with tools at the gateway: the fields checked at the boundary (each 400 naming its field),
// streamed tool-call deltas relayed as OpenAI chunks, and whole answers joined from deltas of
// parallel calls arriving interleaved, with `finish_reason: "tool_calls"` kept.
import { describe, expect, it } from 'vitest';
import { validateRequest } from '../actors/gateway/request-schema.js';
import type { Delta } from '../engine-adapters/adapter.js';
import { LlmuxError } from '../errors.js';
import { chat } from './chat.js';
import { completion } from './completion.js';

const tools = [
  { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
  { type: 'function', function: { name: 'get_time' } },
];
const body = (extra: Record<string, unknown>) => ({ model: 'f/m', messages: [{ role: 'user', content: 'hi' }], tools, ...extra });
const paramOf = (raw: unknown, op = chat): string | undefined => {
  const out = validateRequest(op, raw);
  return out instanceof LlmuxError ? `${out.param}: ${out.message}` : undefined;
};

describe('chat - tools, tool_choice and the other generation fields at the boundary', () => {
  it.each(['none', 'auto', 'required', { type: 'function', function: { name: 'get_time' } }])('takes tool_choice %j', (choice) => {
    expect(paramOf(body({ tool_choice: choice }))).toBeUndefined();
  });

  it.each([
    [{ tools: [{ type: 'retrieval' }] }, /^tools\.0\.type: /],
    [{ tools: [{ type: 'function', function: { name: 'has space' } }] }, /^tools\.0\.function\.name: .*letters, digits/],
    [{ tools: [{ type: 'function', function: {} }] }, /^tools\.0\.function\.name: /],
    [{ tools: 'get_weather' }, /^tools: /],
    [{ tool_choice: 'always' }, /^tool_choice: .*'none', 'auto', 'required'/],
    [{ tool_choice: { type: 'function', function: { name: 'launch' } } }, /^tool_choice: .*'launch', which is not in 'tools'/],
    [{ tools: undefined, tool_choice: 'required' }, /^tool_choice: .*needs 'tools'/],
    [{ parallel_tool_calls: 'yes' }, /^parallel_tool_calls: /],
    [{ response_format: { type: 'xml' } }, /^response_format(\.type)?: .*'text', 'json_object' or 'json_schema'/],
    [{ response_format: { type: 'json_schema' } }, /^response_format\.json_schema: /],
    [{ stop: 3 }, /^stop: /],
    [{ seed: 1.5 }, /^seed: /],
    [{ logprobs: 'yes' }, /^logprobs: /],
    [{ top_logprobs: 2 }, /^top_logprobs: .*needs 'logprobs': true/],
    [{ logprobs: true, top_logprobs: 21 }, /^top_logprobs: /],
    [{ n: 2 }, /^n: .*only n=1/],
  ])('refuses %j with a 400 naming the field', (extra, message) => {
    expect(paramOf(body(extra))).toMatch(message);
  });

  it('takes JSON mode, a JSON schema, stop, seed and logprobs false', () => {
    expect(paramOf(body({ response_format: { type: 'json_object' }, stop: ['\n'], seed: 42, logprobs: false }))).toBeUndefined();
    expect(paramOf(body({ logprobs: true, top_logprobs: 3 }))).toBeUndefined();
    expect(paramOf(body({ response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } } }))).toBeUndefined();
  });

  it('refuses logprobs on completions too', () => {
    expect(paramOf({ model: 'f/m', prompt: 'hi', logprobs: 2 }, completion)).toMatch(/^logprobs: /);
  });
});

/** Two parallel calls as an engine streams them: id/type/name once, arguments in pieces, the indices interleaved. */
const interleaved: Delta[][] = [
  [{ index: 0, role: 'assistant' }],
  [{ index: 0, toolCalls: [{ index: 0, id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '' } }] }],
  [{ index: 0, toolCalls: [{ index: 1, id: 'call_t', type: 'function', function: { name: 'get_time' } }, { index: 0, function: { arguments: '{"city": "Pa' } }] }],
  [{ index: 0, toolCalls: [{ index: 1, function: { arguments: '{}' } }] }, { index: 0, toolCalls: [{ index: 0, function: { arguments: 'ris"}' } }] }],
  [{ index: 0, finishReason: 'tool_calls' }],
];

describe('chat - tool calls in answers', () => {
  const ctx = { id: 'chatcmpl-1', created: 1, clientModel: 'f/m' };
  const validated = { operation: 'chat' as const, model: 'f/m', stream: false, includeUsage: false, body: {} };

  it('joins interleaved parallel calls by index into whole calls, content null, finish_reason tool_calls', () => {
    const answer = chat.answer(validated);
    for (const deltas of interleaved) answer.add({ type: 'deltas', deltas });
    const out = answer.render(ctx, { promptTokens: 5, completionTokens: 9 }) as { choices: Array<{ message: unknown; finish_reason: string }> };
    expect(out.choices).toEqual([{
      index: 0, logprobs: null, finish_reason: 'tool_calls',
      message: {
        role: 'assistant', content: null,
        tool_calls: [
          { id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
          { id: 'call_t', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
    }]);
  });

  it('keeps text said before the calls as content', () => {
    const answer = chat.answer(validated);
    answer.add({ type: 'deltas', deltas: [{ index: 0, role: 'assistant', text: 'Let me look.' }, ...interleaved.flat().slice(1)] });
    const out = answer.render(ctx, { promptTokens: 5, completionTokens: 9 }) as { choices: Array<{ message: { content: unknown; tool_calls: unknown[] } }> };
    expect(out.choices[0]?.message.content).toBe('Let me look.');
    expect(out.choices[0]?.message.tool_calls).toHaveLength(2);
  });

  it('relays token logprobs in chunks and joins them in order in the whole answer', () => {
    const entry = (token: string) => ({ token, logprob: -0.5, bytes: [...Buffer.from(token)], top_logprobs: [] });
    const deltas: Delta[] = [{ index: 0, role: 'assistant' }, { index: 0, text: 'sea', logprobs: [entry('sea')] }, { index: 0, text: ' wind', logprobs: [entry(' wind')], finishReason: 'stop' }];
    const chunk = JSON.parse(chat.stream!.chunkEvents(ctx, [deltas[1]!]).slice('data: '.length)) as { choices: Array<{ logprobs: unknown }> };
    expect(chunk.choices[0]?.logprobs).toEqual({ content: [entry('sea')], refusal: null });
    const answer = chat.answer(validated);
    answer.add({ type: 'deltas', deltas });
    const out = answer.render(ctx, { promptTokens: 1, completionTokens: 2 }) as { choices: Array<{ logprobs: unknown }> };
    expect(out.choices[0]?.logprobs).toEqual({ content: [entry('sea'), entry(' wind')], refusal: null });
    const plain = chat.answer(validated);
    plain.add({ type: 'deltas', deltas: [{ index: 0, text: 'sea' }] });
    expect((plain.render(ctx, { promptTokens: 1, completionTokens: 1 }) as { choices: Array<{ logprobs: unknown }> }).choices[0]?.logprobs).toBeNull();
  });

  it('relays each tool-call delta as a chunk with delta.tool_calls as the engine sent it, and no content field', () => {
    const events = chat.stream!.chunkEvents(ctx, interleaved[2]!);
    const chunk = JSON.parse(events.slice('data: '.length)) as { choices: Array<{ delta: Record<string, unknown>; finish_reason: unknown }> };
    expect(chunk.choices[0]).toEqual({ index: 0, logprobs: null, finish_reason: null, delta: { tool_calls: interleaved[2]![0]!.toolCalls } });
    const finish = JSON.parse(chat.stream!.chunkEvents(ctx, interleaved[4]!).slice('data: '.length)) as { choices: Array<{ finish_reason: unknown }> };
    expect(finish.choices[0]?.finish_reason).toBe('tool_calls');
  });
});

describe('chat - prompt counting with tools', () => {
  const tokens = {
    countChat: async (_t: string, messages: Array<{ content?: unknown }>) => messages.length,
    countTexts: async (_t: string, texts: string[]) => texts.map((t) => t.length),
  };

  it('counts the tool definitions and earlier calls on top of the messages', async () => {
    const messages = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'get_time', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c', content: '12:00' },
    ];
    const withTools = await chat.countPrompt(tokens as never, 'o200k', { messages, tools });
    expect(withTools.total).toBe(3 + JSON.stringify(tools).length + 'get_time {}'.length);
    expect(withTools.longest).toBe(withTools.total);
    expect((await chat.countPrompt(tokens as never, 'o200k', { messages: [{ role: 'user', content: 'hi' }] })).total).toBe(1);
  });
});
