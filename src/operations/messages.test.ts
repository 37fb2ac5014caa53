// Anthropic Messages as chat: the translation of a body, and the answers rendered from chat deltas.
import { describe, expect, it } from 'vitest';
import { LlmuxError } from '../errors.js';
import { messages } from './messages.js';
import { anthropicErrorBody, MessageAnswer, MessageStream } from './messages-render.js';

const ctx = { id: 'msg-req1', created: 0, clientModel: 'f/m', promptTokens: 7 };
const usage = { promptTokens: 7, completionTokens: 3, cachedTokens: 2 };
const prepare = (body: Record<string, unknown>) => messages.prepare(messages.schema.parse({ model: 'f/m', max_tokens: 5, ...body }));

describe('messages - the body as chat', () => {
  it('puts a user message\'s tool results first, as tool turns, and marks an error result', () => {
    const body = prepare({ messages: [{ role: 'user', content: [{ type: 'text', text: 'then' }, { type: 'tool_result', tool_use_id: 't1', content: 'boom', is_error: true }] }] });
    expect(body).toMatchObject({ messages: [{ role: 'tool', tool_call_id: 't1', content: 'Error: boom' }, { role: 'user', content: 'then' }], max_tokens: 5 });
  });

  it('turns tool_choice and disable_parallel_tool_use into chat\'s', () => {
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    expect(prepare({ messages: [{ role: 'user', content: 'x' }], tools, tool_choice: { type: 'any', disable_parallel_tool_use: true } }))
      .toMatchObject({ tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }], tool_choice: 'required', parallel_tool_calls: false });
    expect(prepare({ messages: [{ role: 'user', content: 'x' }], tools, tool_choice: { type: 'tool', name: 'f' } })).toMatchObject({ tool_choice: { type: 'function', function: { name: 'f' } } });
    expect(prepare({ messages: [{ role: 'user', content: 'x' }], stop_sequences: ['END'] })).toMatchObject({ stop: ['END'] });
  });

  it('refuses an image in a tool result, naming the block', () => {
    const error = prepare({ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image' }] }] }] });
    expect(error).toBeInstanceOf(LlmuxError);
    expect((error as LlmuxError).param).toBe('messages.0.content.0.content.0');
  });
});

describe('messages - answers', () => {
  it('says end_turn for a chat stop, tool_use when there are calls, and counts cached tokens apart', () => {
    const text = new MessageAnswer();
    text.add({ type: 'deltas', deltas: [{ index: 0, text: 'hi' }, { index: 0, finishReason: 'stop' }] });
    expect(text.render(ctx, usage)).toMatchObject({ id: 'msg_req1', stop_reason: 'end_turn', content: [{ type: 'text', text: 'hi' }],
      usage: { input_tokens: 5, cache_read_input_tokens: 2, output_tokens: 3 } });
    const calls = new MessageAnswer();
    calls.add({ type: 'deltas', deltas: [{ index: 0, toolCalls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '{"a":' } }] }, { index: 0, toolCalls: [{ index: 0, function: { arguments: '1}' } }], finishReason: 'stop' }] });
    expect(calls.render(ctx, usage)).toMatchObject({ stop_reason: 'tool_use', content: [{ type: 'tool_use', id: 'c', name: 'f', input: { a: 1 } }] });
  });

  it('streams text then each call as blocks of their own, one stopped before the next starts', () => {
    const s = new MessageStream();
    const out = s.chunkEvents(ctx, [{ index: 0, text: 'a' }, { index: 0, toolCalls: [{ index: 0, id: 'c0', function: { name: 'f', arguments: '{}' } }] },
      { index: 0, toolCalls: [{ index: 1, id: 'c1', function: { name: 'g', arguments: '{}' } }], finishReason: 'tool_calls' }]) + s.endEvents(ctx, usage);
    const events = out.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('\n')[1]!.slice(6)) as { type: string; index?: number });
    expect(events.map((e) => `${e.type}${e.index ?? ''}`)).toEqual(['message_start', 'ping', 'content_block_start0', 'content_block_delta0', 'content_block_stop0',
      'content_block_start1', 'content_block_delta1', 'content_block_stop1', 'content_block_start2', 'content_block_delta2', 'content_block_stop2', 'message_delta', 'message_stop']);
    expect(events[0]).toMatchObject({ message: { usage: { input_tokens: 7 } } });
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('writes errors in Anthropic\'s shape', () => {
    expect(anthropicErrorBody({ code: 'rate_limit_exceeded', message: 'slow down', retryable: true })).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
    expect(new MessageStream().failEvents(ctx, { code: 'upstream_error', message: 'gone', retryable: true })).toBe('event: error\ndata: {"type":"error","error":{"type":"api_error","message":"gone"}}\n\n');
  });
});
