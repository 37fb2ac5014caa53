/**
 * The client side of a session: the one place that writes to the HTTP response. It sends the SSE
 * head on the first event, then events, then either the final lines or an SSE `error` event (a
 * broken stream never ends silently); a non-streaming answer is one JSON body.
 *
 * Every SSE event carries an `id:` (`<stream-id>.<n>`). A resumable stream also goes to its
 * journal, event for event, and outlives its client: once the client is gone (`detach`) the events
 * go to the journal only, for the client to read back with `Last-Event-ID` from any gateway.
 *
 * Backpressure: `events` says when the socket is full (Node's `write()` returning false), so the
 * session can pause its worker, and `buffered` is what waits in memory for a client that does
 * not read; the session cancels the request when that stalls too long or grows too large.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorInfo } from '../../errors.js';
import { sendError, sendJson, sseErrorEvent } from './http-io.js';
import { type JournalWriter, sseId } from './stream-journal.js';

export interface ClientStreamOptions {
  onFirstByte: () => void;
  streamId: string;
  /** Set for a resumable stream. */
  journal?: JournalWriter;
  /** The operation's error shape for an answer that fails before it starts (OpenAI's unless given). */
  errorBody?: (error: ErrorInfo) => unknown;
}

export class ClientStream {
  #started = false;
  #detached = false;
  #nextId = 0;

  constructor(readonly res: ServerResponse, readonly options: ClientStreamOptions) {}

  /** Whether anything reached the client: past this point a failure is an SSE error event. */
  get started(): boolean {
    return this.#started;
  }

  get resumable(): boolean {
    return this.options.journal !== undefined;
  }

  /** Bytes written and not yet taken by the client's socket. */
  get buffered(): number {
    return this.#detached ? 0 : this.res.writableLength;
  }

  /** The client went away from a resumable stream: from now on its events go to the journal only. */
  detach(): void {
    this.#detached = true;
  }

  /**
   * Writes SSE events (each ending in a blank line), sending the head (with `headers`) first when
   * this is the first write. False when the socket is full: wait for the response's 'drain'.
   */
  events(text: string, headers: () => Record<string, string>): boolean {
    if (!this.#started) {
      this.#started = true;
      if (!this.#detached) {
        this.res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
          ...(this.resumable ? { 'x-llmux-stream-id': this.options.streamId } : {}),
          ...headers(),
        });
      }
      this.options.onFirstByte();
    }
    const framed = text ? this.#frame(text) : '';
    if (this.#detached) return true;
    return framed ? this.res.write(framed) : !this.res.writableNeedDrain;
  }

  /** The last SSE events of a complete stream. */
  end(text: string, headers: () => Record<string, string>): void {
    this.events(text, headers);
    this.options.journal?.end();
    if (!this.#detached) this.res.end();
  }

  json(status: number, body: unknown, headers: Record<string, string>): void {
    this.#started = true;
    sendJson(this.res, status, body, headers);
  }

  /**
   * Ends the answer with `error`: once streaming, the operation's own failure events (`streamFailure`)
   * or the SSE error event; an OpenAI error body before. Returns the HTTP status.
   */
  fail(error: ErrorInfo, headers: Record<string, string> | undefined, streamFailure?: string): number {
    if (this.#started) {
      const framed = this.#frame(streamFailure ?? sseErrorEvent(error));
      this.options.journal?.end();
      if (!this.#detached) this.res.end(framed);
      return 200;
    }
    this.#started = true;
    this.options.journal?.end();
    return sendError(this.res, error, headers, this.options.errorBody);
  }

  /** Drops the connection of a client that stopped reading: what waits for it is freed. */
  abandon(): void {
    this.res.destroy();
  }

  /** Numbers each event with an `id:` line, journaling it as the client gets it (without that line). */
  #frame(text: string): string {
    let out = '';
    for (let start = 0; start < text.length;) {
      const end = text.indexOf('\n\n', start);
      const event = end < 0 ? text.slice(start) : text.slice(start, end + 2);
      start = end < 0 ? text.length : end + 2;
      const id = this.#nextId++;
      this.options.journal?.event(id, event);
      out += `id: ${sseId(this.options.streamId, id)}\n${event}`;
    }
    return out;
  }
}
