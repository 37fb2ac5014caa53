/**
 * A ServerResponse stand-in for tests of the request session: it records what the client would
 * read, and fails a test that writes after the end or ends twice.
 */
import { expect } from 'vitest';

export class FakeResponse {
  status: number | undefined;
  body = '';
  ended = false;
  destroyed = false;
  headersSent = false;
  writableLength = 0;
  writableNeedDrain = false;
  writeHead(status: number): this {
    this.status = status;
    this.headersSent = true;
    return this;
  }
  write(text: string): boolean {
    expect(this.ended, 'write after end').toBe(false);
    this.body += text;
    return true;
  }
  end(text?: string): void {
    expect(this.ended, 'ended twice').toBe(false);
    if (text) this.body += text;
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  setHeader(): void {}
}
