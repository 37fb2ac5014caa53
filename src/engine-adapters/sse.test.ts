import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SseEvent, SseParser } from './sse.js';

const enc = new TextEncoder();

function parseChunks(chunks: Uint8Array[]): SseEvent[] {
  const p = new SseParser();
  const out = chunks.flatMap((c) => p.push(c));
  return [...out, ...p.end()];
}

const parseText = (...parts: string[]) => parseChunks(parts.map((s) => enc.encode(s)));

describe('sse parser', () => {
  it('skips keep-alive comment lines', () => {
    expect(parseText(': keep-alive\n\ndata: a\n\n: ping\n\ndata: b\n\n')).toEqual([{ data: 'a' }, { data: 'b' }]);
  });

  it('accepts CRLF and bare CR line ends', () => {
    expect(parseText('data: a\r\n\r\ndata: b\r\rdata: c\n\n')).toEqual([{ data: 'a' }, { data: 'b' }, { data: 'c' }]);
  });

  it('pairs a CR at the end of one read with an LF at the start of the next', () => {
    expect(parseText('data: a\r', '\n\r', '\ndata: b\n\n')).toEqual([{ data: 'a' }, { data: 'b' }]);
  });

  it('joins an event split across reads', () => {
    expect(parseText('da', 'ta: {"x"', ':1}', '\n', '\n')).toEqual([{ data: '{"x":1}' }]);
  });

  it('keeps a multi-byte UTF-8 character split across reads whole', () => {
    const bytes = enc.encode('data: €😀\n\n');
    // split inside the 3-byte euro sign and inside the 4-byte emoji
    expect(parseChunks([bytes.slice(0, 7), bytes.slice(7, 10), bytes.slice(10, 12), bytes.slice(12)])).toEqual([{ data: '€😀' }]);
  });

  it('joins several data lines with a newline and keeps event names and ids', () => {
    expect(parseText('event: error\nid: 7\ndata: line1\ndata:line2\n\n')).toEqual([{ event: 'error', id: '7', data: 'line1\nline2' }]);
  });

  it('delivers a last event that lacks its blank line', () => {
    expect(parseText('data: a\n\ndata: tail')).toEqual([{ data: 'a' }, { data: 'tail' }]);
  });

  it('drops a leading byte order mark', () => {
    expect(parseText('\uFEFFdata: a\n\n')).toEqual([{ data: 'a' }]);
  });

  it('yields the same events for any split of the byte stream (property)', () => {
    const eventArb = fc.record(
      {
        event: fc.constantFrom(undefined, 'message', 'error', 'usage'),
        data: fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !/[\r\n]/.test(s)),
      },
      { requiredKeys: ['data'] },
    );
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 12 }),
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 30 }),
        (events, eol, comments, cutSeeds) => {
          let text = '';
          for (const e of events) {
            if (comments) text += `: keep-alive${eol}`;
            if (e.event !== undefined) text += `event: ${e.event}${eol}`;
            text += `data: ${e.data}${eol}${eol}`;
          }
          const bytes = enc.encode(text);
          const cuts = [...new Set(cutSeeds.map((s) => (bytes.length === 0 ? 0 : s % bytes.length)))].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let prev = 0;
          for (const c of cuts) {
            chunks.push(bytes.slice(prev, c));
            prev = c;
          }
          chunks.push(bytes.slice(prev));
          const whole = parseChunks([bytes]);
          const split = parseChunks(chunks);
          const expected = events.map((e) => (e.event !== undefined ? { event: e.event, data: e.data } : { data: e.data }));
          expect(split).toEqual(whole);
          expect(whole).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
