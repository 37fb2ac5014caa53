// The outcome of a stream from what its client saw: the verdicts the chaos suite rests on.
import { describe, expect, it } from 'vitest';
import { classify } from './classify.js';
import type { StreamRecord } from './stream-client.js';

const expected = 'the sea wind light';
const record = (over: Partial<StreamRecord>): StreamRecord => ({
  status: 200, workerId: 'w0', errorBody: undefined, text: expected, usage: { completion_tokens: 4 }, sawDone: true, dataAfterDone: false,
  errorEvents: [], end: 'complete', startedAt: 0, endedAt: 100, dataAt: [10, 20, 30, 40, 90], ...over,
});

describe('classify - what became of a stream', () => {
  it('counts [DONE] after the exact text and matching usage as completed', () => {
    expect(classify(record({}), expected).outcome).toBe('completed');
  });
  it('calls a usage count that disagrees with the tokens received wrong', () => {
    expect(classify(record({ usage: { completion_tokens: 5 } }), expected).outcome).toBe('wrong');
  });
  it('calls a clean end short of the text, with or without [DONE], a silent truncation', () => {
    expect(classify(record({ text: 'the sea' }), expected).outcome).toBe('silent');
    expect(classify(record({ text: 'the sea', sawDone: false }), expected).outcome).toBe('silent');
    expect(classify(record({ sawDone: false }), expected).outcome).toBe('silent');
  });
  it('calls an SSE error event or an HTTP error explicit', () => {
    expect(classify(record({ text: 'the sea', errorEvents: [{ error: { code: 'upstream_error' } }] }), expected).outcome).toBe('explicit');
    expect(classify(record({ status: 503, text: '', errorBody: { error: { message: 'no worker' } } }), expected).outcome).toBe('explicit');
  });
  it('calls a connection closed mid-body without an error event broken', () => {
    expect(classify(record({ text: 'the sea', sawDone: false, end: 'broken' }), expected).outcome).toBe('broken');
    expect(classify(record({ status: undefined, text: '', end: 'broken' }), expected).outcome).toBe('broken');
  });
  it('calls duplicated or foreign tokens wrong, even when an error followed', () => {
    expect(classify(record({ text: 'the sea sea wind' }), expected).outcome).toBe('wrong');
    expect(classify(record({ text: 'the sea sea', errorEvents: [{}] }), expected).outcome).toBe('wrong');
    expect(classify(record({ dataAfterDone: true }), expected).outcome).toBe('wrong');
  });
  it('calls a stream without an end hung, and measures the longest gap to the bound', () => {
    const hung = classify(record({ text: 'the', sawDone: false, end: 'timeout', endedAt: 5000, dataAt: [10] }), expected);
    expect(hung.outcome).toBe('hung');
    expect(hung.maxStallMs).toBe(4990);
  });
});
