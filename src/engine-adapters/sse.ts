/**
 * The one Server-Sent-Events parser of llmux (WHATWG event-stream rules), incremental and
 * allocation-light, since every token crosses it: LF, CRLF or CR line ends (a CR ending one read may
 * pair with an LF starting the next), comment lines (keep-alives) skipped, multi-line data joined with
 * '\n', one space after the colon dropped, UTF-8 decoded in streaming mode so a character split across
 * reads stays whole, a leading BOM dropped (by the decoder, even when split across reads).
 *
 * Deliberate choices where the spec leaves room or speaks of browsers:
 * - `retry` is ignored: nothing here reconnects.
 * - `id` persists across events, as the spec's "last event ID" does: an event carries the latest id
 *   seen so far.
 * - A line or an event's data longer than `maxChars` (record-limit.ts) throws RecordTooLong: the
 *   parser never holds more than that for one record.
 * - At the end of the stream an event that lacks its closing blank line is still delivered (the spec
 *   discards it): an engine that ends without the blank line loses nothing. Callers that must tell a
 *   clean end from a cut judge by the transport, not by this parser.
 */
import { maxRecordChars, RecordTooLong } from './record-limit.js';

export interface SseEvent {
  /** The `event:` field; absent means the default type, "message". */
  event?: string;
  data: string;
  /** The last `id:` seen so far in the stream. */
  id?: string;
}

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

export class SseParser {
  readonly #decoder = new TextDecoder('utf-8');
  /** An unterminated line carried over from the previous read. */
  #partial = '';
  /** The previous read ended in CR: an LF starting the next read belongs to that line end. */
  #pendingCR = false;
  #data: string | undefined;
  #event: string | undefined;
  #id: string | undefined;

  constructor(readonly maxChars: number = maxRecordChars) {}

  /** Feeds one read of the stream; returns the events it completed (often none, often one). */
  push(bytes: Uint8Array): SseEvent[] {
    const out: SseEvent[] = [];
    this.#feed(this.#decoder.decode(bytes, { stream: true }), out);
    return out;
  }

  /** Ends the stream: flushes the decoder and delivers a last event that lacks its blank line. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    this.#feed(this.#decoder.decode(), out);
    this.#pendingCR = false;
    if (this.#partial !== '') {
      this.#line(this.#partial, out);
      this.#partial = '';
    }
    this.#dispatch(out);
    return out;
  }

  #feed(text: string, out: SseEvent[]): void {
    const length = text.length;
    if (length === 0) return;
    let start = 0;
    if (this.#pendingCR) {
      this.#pendingCR = false;
      if (text.charCodeAt(0) === LF) start = 1;
    }
    for (let i = start; i < length; i++) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      const line = this.#partial === '' ? text.slice(start, i) : this.#partial + text.slice(start, i);
      this.#partial = '';
      this.#line(line, out);
      if (c === CR) {
        if (i + 1 === length) this.#pendingCR = true;
        else if (text.charCodeAt(i + 1) === LF) i++;
      }
      start = i + 1;
    }
    if (start < length) this.#partial += start === 0 ? text : text.slice(start);
    if (this.#partial.length > this.maxChars) throw new RecordTooLong(this.maxChars);
  }

  #line(line: string, out: SseEvent[]): void {
    if (line.length === 0) return this.#dispatch(out);
    if (line.charCodeAt(0) === COLON) return; // a comment: keep-alive
    // `data:` first and without slicing out the field name: nearly every line of an engine stream is one.
    if (line.startsWith('data:')) {
      const value = line.charCodeAt(5) === SPACE ? line.slice(6) : line.slice(5);
      this.#appendData(value);
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = '';
    if (colon !== -1) value = line.charCodeAt(colon + 1) === SPACE ? line.slice(colon + 2) : line.slice(colon + 1);
    switch (field) {
      case 'data': // "data" with no colon: an empty data line
        this.#appendData(value);
        return;
      case 'event':
        this.#event = value === '' ? undefined : value;
        return;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        return;
      default:
        return; // `retry` and unknown fields
    }
  }

  #appendData(value: string): void {
    this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
    if (this.#data.length > this.maxChars) throw new RecordTooLong(this.maxChars);
  }

  #dispatch(out: SseEvent[]): void {
    if (this.#data !== undefined) {
      const ev: SseEvent = { data: this.#data };
      if (this.#event !== undefined) ev.event = this.#event;
      if (this.#id !== undefined && this.#id !== '') ev.id = this.#id;
      out.push(ev);
    }
    this.#data = undefined;
    this.#event = undefined;
  }
}

/** The events of each read of `body`, as they arrive (reads that complete no event are skipped). */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncIterable<SseEvent[]> {
  const parser = new SseParser();
  for await (const chunk of body) {
    const events = parser.push(chunk);
    if (events.length > 0) yield events;
  }
  const rest = parser.end();
  if (rest.length > 0) yield rest;
}
