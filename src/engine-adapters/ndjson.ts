/**
 * The one newline-delimited JSON line splitter (Ollama): incremental, UTF-8 decoded in streaming
 * mode so a character split across reads stays whole, LF or CRLF line ends, blank lines skipped. A
 * line longer than `maxChars` (record-limit.ts) throws RecordTooLong.
 */
import { maxRecordChars, RecordTooLong } from './record-limit.js';

export class NdjsonParser {
  readonly #decoder = new TextDecoder('utf-8');
  #partial = '';

  constructor(readonly maxChars: number = maxRecordChars) {}

  /** Feeds one read; returns the complete lines it finished. */
  push(bytes: Uint8Array): string[] {
    return this.#feed(this.#decoder.decode(bytes, { stream: true }));
  }

  /** Ends the stream: a last line without its newline is still delivered. */
  end(): string[] {
    const out = this.#feed(this.#decoder.decode());
    const last = this.#partial.trim();
    this.#partial = '';
    if (last !== '') out.push(last);
    return out;
  }

  #feed(text: string): string[] {
    const out: string[] = [];
    let start = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', start)) {
      if (this.#partial.length + (i - start) > this.maxChars) throw new RecordTooLong(this.maxChars);
      const line = (this.#partial + text.slice(start, i)).trim();
      this.#partial = '';
      if (line !== '') out.push(line);
      start = i + 1;
    }
    this.#partial += text.slice(start);
    if (this.#partial.length > this.maxChars) throw new RecordTooLong(this.maxChars);
    return out;
  }
}
