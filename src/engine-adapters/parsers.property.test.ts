// The SSE and NDJSON parsers see byte streams cut anywhere by the network: for any split of the
// same bytes they must yield the same records as for the bytes in one piece.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NdjsonParser } from './ndjson.js';
import { type SseEvent, SseParser } from './sse.js';

const encoder = new TextEncoder();
/** Text with multi-byte characters (2, 3 and 4 UTF-8 bytes) and no line breaks. */
const lineText = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', ':', '{', '"', 'ö', '€', '🌊', '大', 'x'), maxLength: 20 });

/** Cuts `bytes` at the given points (deduplicated, sorted). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(start, p));
    start = p;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

function sseRecords(pieces: Uint8Array[]): SseEvent[] {
  const p = new SseParser();
  return [...pieces.flatMap((b) => p.push(b)), ...p.end()];
}

function ndjsonRecords(pieces: Uint8Array[]): string[] {
  const p = new NdjsonParser();
  return [...pieces.flatMap((b) => p.push(b)), ...p.end()];
}

describe('parsers - any split of the byte stream gives the same records', () => {
  it('SSE: events with comments, event names, multi-line data, LF, CRLF or CR line ends', () => {
    const event = fc.record({
      comment: fc.option(lineText),
      name: fc.option(fc.constantFrom('message_start', 'error', 'ping')),
      data: fc.array(lineText, { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 6 }), fc.constantFrom('\n', '\r\n', '\r'), fc.array(fc.nat(), { maxLength: 12 }), (events, nl, cuts) => {
        const text = events.map((e) =>
          (e.comment !== null ? `: ${e.comment}${nl}` : '') + (e.name ? `event: ${e.name}${nl}` : '') + e.data.map((d) => `data: ${d}${nl}`).join('') + nl,
        ).join('');
        const bytes = encoder.encode(text);
        const whole = sseRecords([bytes]);
        expect(sseRecords(split(bytes, cuts))).toEqual(whole);
        expect(whole.map((e) => e.data)).toEqual(events.map((e) => e.data.join('\n')));
      }),
      { numRuns: 300 },
    );
  });

  it('NDJSON: JSON lines with LF or CRLF, blank lines, and a last line with or without its newline', () => {
    fc.assert(
      fc.property(fc.array(lineText, { maxLength: 8 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.array(fc.nat(), { maxLength: 12 }), (texts, nl, trailing, cuts) => {
        const lines = texts.map((t, i) => JSON.stringify({ i, t }));
        const text = lines.join(`${nl}${nl.repeat(texts.length % 2)}`) + (trailing ? nl : '');
        const bytes = encoder.encode(text);
        const whole = ndjsonRecords([bytes]);
        expect(ndjsonRecords(split(bytes, cuts))).toEqual(whole);
        expect(whole).toEqual(lines);
      }),
      { numRuns: 300 },
    );
  });
});
