import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSse, type SseEvent, SseParser } from './sse.js';

const enc = new TextEncoder();

function parseChunks(chunks: Uint8Array[]): SseEvent[] {
  const p = new SseParser();
  const out = chunks.flatMap((c) => p.push(c));
  return [...out, ...p.end()];
}

const parseText = (...parts: string[]) => parseChunks(parts.map((s) => enc.encode(s)));

/** `bytes` cut at the given offsets. */
function cutAt(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const at of offsets) {
    chunks.push(bytes.subarray(prev, at));
    prev = at;
  }
  chunks.push(bytes.subarray(prev));
  return chunks;
}

describe('sse parser', () => {
  it('skips keep-alive comment lines', () => {
    expect(parseText(': keep-alive\n\ndata: a\n\n: ping\n:\n\ndata: b\n: inside an event\ndata: c\n\n')).toEqual([{ data: 'a' }, { data: 'b\nc' }]);
  });

  it('accepts CRLF line ends', () => {
    expect(parseText('data: a\r\n\r\nevent: e\r\ndata: b\r\n\r\n')).toEqual([{ data: 'a' }, { event: 'e', data: 'b' }]);
  });

  it('accepts bare CR line ends', () => {
    expect(parseText('data: a\r\rdata: b\rdata: c\r\r')).toEqual([{ data: 'a' }, { data: 'b\nc' }]);
  });

  it('pairs a CR at the end of one read with an LF at the start of the next', () => {
    expect(parseText('data: a\r', '\n\r', '\ndata: b\n\n')).toEqual([{ data: 'a' }, { data: 'b' }]);
  });

  it('takes a CR ending one read followed by a CR starting the next as two line ends', () => {
    expect(parseText('data: a\r', '\rdata: b\r', '\r')).toEqual([{ data: 'a' }, { data: 'b' }]);
  });

  it('joins an event split across reads', () => {
    expect(parseText('da', 'ta: {"x"', ':1}', '\n', '\n')).toEqual([{ data: '{"x":1}' }]);
  });

  it('keeps a multi-byte UTF-8 character split across reads whole', () => {
    const bytes = enc.encode('data: €😀\n\n');
    // split inside the 3-byte euro sign and twice inside the 4-byte emoji
    expect(parseChunks(cutAt(bytes, [7, 10, 11, 12]))).toEqual([{ data: '€😀' }]);
  });

  it('joins several data lines with a newline, keeping empty ones', () => {
    expect(parseText('data: line1\ndata:line2\ndata\ndata: \ndata:  spaced\n\n')).toEqual([{ data: 'line1\nline2\n\n\n spaced' }]);
  });

  it('reads event names and ids, and carries the last id on to later events', () => {
    expect(parseText('event: error\nid: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n')).toEqual([
      { event: 'error', id: '7', data: 'a' },
      { id: '7', data: 'b' },
      { data: 'c' },
    ]);
  });

  it('ignores retry, unknown fields, an id holding NUL, and an event without data', () => {
    expect(parseText('retry: 1000\nfoo: bar\nid: a\0b\nevent: lonely\n\ndata: x\n\n')).toEqual([{ data: 'x' }]);
  });

  it('delivers a last event that lacks its blank line, with or without its line end', () => {
    expect(parseText('data: a\n\ndata: tail')).toEqual([{ data: 'a' }, { data: 'tail' }]);
    expect(parseText('data: a\n\ndata: tail\r')).toEqual([{ data: 'a' }, { data: 'tail' }]);
    expect(parseText('data: a\n\ndata: tail\n')).toEqual([{ data: 'a' }, { data: 'tail' }]);
  });

  it('drops a leading byte order mark, even split across reads, and only at the very start', () => {
    expect(parseText('\uFEFFdata: a\n\n')).toEqual([{ data: 'a' }]);
    expect(parseChunks(cutAt(enc.encode('\uFEFFdata: a\n\n'), [1, 2]))).toEqual([{ data: 'a' }]);
    expect(parseText('data: \uFEFFa\n\n')).toEqual([{ data: '\uFEFFa' }]);
  });

  it('yields the events of each read from parseSse, skipping reads that complete none', async () => {
    async function* reads(): AsyncIterable<Uint8Array> {
      for (const s of ['data: a\n\n', 'data: b', '\n\ndata: c\n\n', ': keep-alive\n\n', 'data: d']) yield enc.encode(s);
    }
    const batches: SseEvent[][] = [];
    for await (const batch of parseSse(reads())) batches.push(batch);
    expect(batches).toEqual([[{ data: 'a' }], [{ data: 'b' }, { data: 'c' }], [{ data: 'd' }]]);
  });
});

describe('sse parser - property', () => {
  // Text for one line: any code point, printable graphemes, and a bias towards the awkward ones.
  const awkward = fc.constantFrom('€', '😀', '👩‍👩‍👧', 'é', ':', ' ', '\uFEFF', '\0', 'data:', 'a');
  const lineText = fc
    .oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: awkward, maxLength: 8 }))
    .map((s) => s.replace(/[\r\n]/g, ''));
  const eventArb = fc.record(
    {
      event: lineText.filter((s) => s !== ''),
      id: lineText.filter((s) => s !== '' && !s.includes('\0')),
      dataLines: fc.array(lineText, { minLength: 1, maxLength: 3 }),
      comments: fc.array(fc.tuple(fc.nat(), lineText), { maxLength: 2 }),
      blankLinesAfter: fc.nat({ max: 2 }),
    },
    { requiredKeys: ['dataLines', 'comments', 'blankLinesAfter'] },
  );
  const eolArb = fc.constantFrom('\n', '\r\n', '\r');

  it('yields the original events, whatever the line ends, comments and read boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 10 }),
        fc.array(eolArb, { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.oneof(fc.array(fc.nat(), { maxLength: 40 }), fc.constant('every byte' as const)),
        (events, eols, bom, cuts) => {
          const lines: string[] = [];
          const expected: SseEvent[] = [];
          let lastId: string | undefined;
          for (const e of events) {
            const fields: string[] = [];
            if (e.event !== undefined) fields.push(`event: ${e.event}`);
            if (e.id !== undefined) fields.push(`id: ${e.id}`);
            for (const d of e.dataLines) fields.push(`data: ${d}`);
            for (const [at, text] of e.comments) fields.splice(at % (fields.length + 1), 0, `:${text}`);
            lines.push(...fields, '', ...Array<string>(e.blankLinesAfter).fill(''));
            lastId = e.id ?? lastId;
            const ev: SseEvent = { data: e.dataLines.join('\n') };
            if (e.event !== undefined) ev.event = e.event;
            if (lastId !== undefined) ev.id = lastId;
            expected.push(ev);
          }
          let text = bom ? '\uFEFF' : '';
          let prevEol = '';
          lines.forEach((line, i) => {
            let eol = eols[i % eols.length] ?? '\n';
            // An empty line ended by LF right after a CR would read as one CRLF: end it with CRLF.
            if (prevEol === '\r' && line === '' && eol === '\n') eol = '\r\n';
            text += line + eol;
            prevEol = eol;
          });
          const bytes = enc.encode(text);
          const offsets =
            cuts === 'every byte'
              ? Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1)
              : [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
          const whole = parseChunks([bytes]);
          expect(whole).toEqual(expected);
          expect(parseChunks(cutAt(bytes, offsets))).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });
});
