// The parsers hold at most `maxChars` of one record, however the engine sends it: a line that never
// ends, one split over many reads, or an event built of many data lines; the reader turns that into
// the engine's garbage (a retryable upstream error), not a worker that grows until it dies.
import { describe, expect, it } from 'vitest';
import { ErrorCode, LlmuxError } from '../errors.js';
import { NdjsonParser } from './ndjson.js';
import { RecordTooLong } from './record-limit.js';
import { readRecords } from './record-stream.js';
import { SseParser } from './sse.js';

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);

describe('record length bound', () => {
  it('SSE: a line without its end, grown over reads, throws once past the bound', () => {
    const p = new SseParser(16);
    expect(p.push(bytes('data: 0123456'))).toEqual([]);
    expect(() => p.push(bytes('789abcdef'))).toThrow(RecordTooLong);
  });

  it('SSE: an event of many short data lines throws once its data passes the bound', () => {
    const p = new SseParser(16);
    expect(() => p.push(bytes('data: 12345\ndata: 12345\ndata: 12345\n'))).toThrow(RecordTooLong);
  });

  it('SSE: records up to the bound pass', () => {
    const p = new SseParser(16);
    expect(p.push(bytes('data: 0123456789abcdef\n\n'))).toEqual([{ data: '0123456789abcdef' }]);
  });

  it('NDJSON: a line past the bound throws, whether it ends in this read or not', () => {
    expect(() => new NdjsonParser(16).push(bytes('{"a":"0123456789abcdef"}\n'))).toThrow(RecordTooLong);
    const p = new NdjsonParser(16);
    expect(p.push(bytes('{"a":"01234'))).toEqual([]);
    expect(() => p.push(bytes('56789abcdef'))).toThrow(RecordTooLong);
    expect(new NdjsonParser(16).push(bytes('{"a":"0123456"}\n'))).toEqual(['{"a":"0123456"}']);
  });

  it('an engine stream with an endless line ends in a retryable upstream error', async () => {
    async function* endless(): AsyncIterable<Uint8Array> {
      yield bytes('data: {"choices":[{"index":0,"delta":{"content":"');
      const chunk = bytes('x'.repeat(64 * 1024));
      for (;;) yield chunk;
    }
    const read = async (): Promise<void> => {
      for await (const _ of readRecords('vllm', 'sse', endless(), { decode: () => false }));
    };
    const error = await read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmuxError);
    expect(error).toMatchObject({ code: ErrorCode.upstreamError, retryable: true });
  });
});
