/**
 * The one Server-Sent-Events parser (WHATWG event-stream rules), incremental and allocation-light:
 * LF, CRLF or CR line ends (a CR ending one read may pair with an LF starting the next), comment
 * lines (keep-alives) skipped, multi-line data joined with '\n', UTF-8 decoded in streaming mode so
 * a character split across reads stays whole, a leading BOM dropped. At the end of the stream, an
 * event without its closing blank line is still delivered (engines that end abruptly lose nothing).
 */
export interface SseEvent {
  event?: string;
  data: string;
  id?: string;
}

const LF = 10;
const CR = 13;

export class SseParser {
  readonly #decoder = new TextDecoder('utf-8');
  #partial = '';
  #pendingCR = false;
  #data: string | undefined;
  #event: string | undefined;
  #id: string | undefined;

  push(bytes: Uint8Array): SseEvent[] {
    const out: SseEvent[] = [];
    this.#feed(this.#decoder.decode(bytes, { stream: true }), out);
    return out;
  }

  end(): SseEvent[] {
    const out: SseEvent[] = [];
    this.#feed(this.#decoder.decode(), out);
    if (this.#partial !== '') {
      this.#line(this.#partial, out);
      this.#partial = '';
    }
    this.#dispatch(out);
    return out;
  }

  #feed(text: string, out: SseEvent[]): void {
    if (text.length === 0) return;
    let start = 0;
    if (this.#pendingCR) {
      this.#pendingCR = false;
      if (text.charCodeAt(0) === LF) start = 1;
    }
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      const line = this.#partial === '' ? text.slice(start, i) : this.#partial + text.slice(start, i);
      this.#partial = '';
      this.#line(line, out);
      if (c === CR) {
        if (i + 1 === text.length) this.#pendingCR = true;
        else if (text.charCodeAt(i + 1) === LF) i++;
      }
      start = i + 1;
    }
    if (start < text.length) this.#partial += text.slice(start);
  }

  #line(line: string, out: SseEvent[]): void {
    if (line === '') return this.#dispatch(out);
    if (line.charCodeAt(0) === 58 /* ':' */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32 /* ' ' */) value = value.slice(1);
    switch (field) {
      case 'data':
        this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
        return;
      case 'event':
        this.#event = value;
        return;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        return;
      default:
        return; // `retry` and unknown fields are ignored
    }
  }

  #dispatch(out: SseEvent[]): void {
    if (this.#data !== undefined) {
      const ev: SseEvent = { data: this.#data };
      if (this.#event !== undefined) ev.event = this.#event;
      if (this.#id !== undefined) ev.id = this.#id;
      out.push(ev);
    }
    this.#data = undefined;
    this.#event = undefined;
    this.#id = undefined;
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
