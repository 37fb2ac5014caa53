// The Responses operation's pieces without a stack: the body check, open() against an in-memory
// answer memory (the conversation carried on, store: false, another tenant's id), and the stream's
// closing and failing events.
import { describe, expect, it } from 'vitest';
import { LlmuxError } from '../errors.js';
import type { AnswerMemory, ValidatedRequest } from './operation.js';
import { responses } from './responses.js';

const memory = (): AnswerMemory & { values: Map<string, unknown> } => {
  const values = new Map<string, unknown>();
  return { values, get: async (id) => values.get(id), put: async (id, v) => void values.set(id, v) };
};
const acme = { tenant: 'acme', keyId: 'k1' };
const globex = { tenant: 'globex', keyId: 'k2' };

const request = (body: Record<string, unknown>, stream = false): ValidatedRequest => {
  const parsed = responses.schema.parse({ model: 'm', ...body });
  const prepared = responses.prepare(parsed);
  if (prepared instanceof LlmuxError) throw prepared;
  const { model: _, stream: __, ...rest } = prepared;
  return { operation: 'responses', model: 'm', stream, includeUsage: false, body: rest };
};
const ctx = { id: 'resp-x', created: 1, clientModel: 'm' };
const usage = { promptTokens: 7, completionTokens: 2 };

/** Answers `req` with `text` as the engine would, and stores it as the gateway does. */
async function answer(req: ValidatedRequest, keep: unknown, text: string): Promise<Record<string, unknown>> {
  const whole = responses.answer(req);
  whole.add({ type: 'deltas', deltas: [{ index: 0, role: 'assistant', text }, { index: 0, finishReason: 'stop' }] });
  const rendered = whole.render(ctx, usage);
  if (typeof keep === 'function') await (keep as (a: Record<string, unknown>) => Promise<void>)(rendered);
  return rendered;
}

describe('responses - the request', () => {
  it('names the field at fault: an unknown field, an item that is not a message, a part that is not text', () => {
    const param = (body: Record<string, unknown>) => {
      const prepared = responses.prepare(responses.schema.parse({ model: 'm', ...body }));
      return prepared instanceof LlmuxError ? prepared.toInfo().param : undefined;
    };
    expect(param({ input: 'hi', include: ['x'] })).toBe('include');
    expect(param({ input: [{ type: 'reasoning', summary: [] }] })).toBe('input.0.type');
    expect(param({ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] })).toBe('input.0.content.0');
    expect(param({ input: 'hi' })).toBeUndefined();
  });

  it('turns instructions and input into the chat body the engine gets, and nothing else', async () => {
    const req = request({ instructions: 'sys', input: 'hi', max_output_tokens: 9, temperature: 0.5, metadata: { a: 'b' } });
    expect(await responses.stateful?.open(req, acme, memory())).toBeTypeOf('function');
    expect(req.body).toEqual({ messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'hi' }], max_tokens: 9, temperature: 0.5 });
  });
});

describe('responses - stored responses', () => {
  it('carries a stored conversation on (without its instructions), and keeps the new one with the answer', async () => {
    const mem = memory();
    const first = request({ instructions: 'only once', input: 'one' });
    const firstAnswer = await answer(first, await responses.stateful?.open(first, acme, mem), 'uno');
    const second = request({ input: 'two', previous_response_id: firstAnswer.id });
    const keep = await responses.stateful?.open(second, acme, mem);
    expect(second.body.messages).toEqual([{ role: 'user', content: 'one' }, { role: 'assistant', content: 'uno' }, { role: 'user', content: 'two' }]);
    const secondAnswer = await answer(second, keep, 'dos');
    expect(secondAnswer).toMatchObject({ previous_response_id: firstAnswer.id, status: 'completed' });
    expect(await responses.stateful?.stored(secondAnswer.id as string, acme, mem)).toEqual(secondAnswer);
  });

  it('keeps nothing with store: false, and answers another tenant as it answers an unknown id', async () => {
    const mem = memory();
    const req = request({ input: 'x', store: false });
    expect(await responses.stateful?.open(req, acme, mem)).toBeUndefined();
    const kept = request({ input: 'y' });
    const rendered = await answer(kept, await responses.stateful?.open(kept, acme, mem), 'z');
    expect(mem.values.size).toBe(1);
    const foreign = await responses.stateful?.stored(rendered.id as string, globex, mem);
    const unknown = await responses.stateful?.stored(`resp_${'f'.repeat(32)}`, globex, mem);
    expect(foreign).toBeInstanceOf(LlmuxError);
    expect((foreign as LlmuxError).toInfo().code).toBe((unknown as LlmuxError).toInfo().code);
    const chained = await responses.stateful?.open(request({ input: 'w', previous_response_id: rendered.id }), globex, mem);
    expect((chained as LlmuxError).toInfo()).toMatchObject({ code: 'not_found', param: 'previous_response_id' });
  });
});

describe('responses - the stream', () => {
  it('opens the lifecycle even for a stream that ends without text, and ends it whole', () => {
    const req = request({ input: 'x' }, true);
    const stream = responses.openStream?.(req);
    const events = [...(stream?.endEvents?.(ctx, usage) ?? '').matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(events).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
  });

  it('fails with an error event and response.failed holding the text so far, numbered on from the deltas', () => {
    const stream = responses.openStream?.(request({ input: 'x' }, true));
    const opened = stream?.chunkEvents(ctx, [{ index: 0, role: 'assistant', text: 'half' }]) ?? '';
    const failed = stream?.failEvents?.(ctx, { code: 'upstream_error', message: 'boom', retryable: true }) ?? '';
    const data = failed.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as Record<string, any>);
    expect(data.map((d) => d.type)).toEqual(['error', 'response.failed']);
    expect(data[0]).toMatchObject({ code: 'upstream_error', message: 'boom', param: null, sequence_number: 5 });
    expect(data[1]?.response).toMatchObject({ status: 'failed', error: { code: 'upstream_error', message: 'boom' },
      output: [{ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: 'half' }] }] });
    expect(opened.match(/^event: /gm)).toHaveLength(5);
  });
});
