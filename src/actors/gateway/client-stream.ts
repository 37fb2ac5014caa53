/**
 * The client side of a session: the one place that writes to the HTTP response. It sends the SSE
 * head on the first event, then events, then either the final lines or an SSE `error` event (a
 * broken stream never ends silently); a non-streaming answer is one JSON body.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorInfo } from '../../errors.js';
import { sendError, sendJson, sseErrorEvent } from './http-io.js';

export class ClientStream {
  #started = false;

  constructor(readonly res: ServerResponse, readonly onFirstByte: () => void) {}

  /** Whether anything reached the client: past this point a failure is an SSE error event. */
  get started(): boolean {
    return this.#started;
  }

  /** Writes SSE text, sending the head (with `headers`) first when this is the first write. */
  events(text: string, headers: () => Record<string, string>): void {
    if (!this.#started) {
      this.#started = true;
      this.res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        ...headers(),
      });
      this.onFirstByte();
    }
    if (text) this.res.write(text);
  }

  /** The last SSE text of a complete stream. */
  end(text: string, headers: () => Record<string, string>): void {
    this.events('', headers);
    this.res.end(text);
  }

  json(status: number, body: unknown, headers: Record<string, string>): void {
    this.#started = true;
    sendJson(this.res, status, body, headers);
  }

  /** Ends the answer with `error`: an SSE error event once streaming, an OpenAI error body before. Returns the HTTP status. */
  fail(error: ErrorInfo, headers: Record<string, string> | undefined): number {
    if (this.#started) {
      this.res.end(sseErrorEvent(error));
      return 200;
    }
    this.#started = true;
    return sendError(this.res, error, headers);
  }
}
