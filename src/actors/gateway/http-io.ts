/** Small node:http helpers: bounded body reading, JSON and OpenAI error answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, type ErrorInfo, httpStatusOf, invalidRequest, LlmuxError, openAiErrorBody } from '../../errors.js';
import { encode } from '../../transport/codec.js';
import { defaultMaxPayload } from '../../transport/transport.js';
import { bodyLimitFor, envelopeBytes, maxEncodingGrowth } from './http-limits.js';

/** Deeper bodies are refused: encoders and validators recurse, and no OpenAI request nests this deep. */
export const maxJsonDepth = 64;

/** The nesting depth of a parsed JSON value, counted without recursion and given up past `limit`. */
function depthOf(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** The 413 for a body over `maxBytes`, the most a message of the gateway's NATS server carries with its envelope. */
function tooLarge(maxBytes: number): LlmuxError {
  return new LlmuxError({ code: ErrorCode.requestTooLarge, retryable: false,
    message: `the request body is larger than ${maxBytes} bytes, the most this gateway takes (its NATS server's max_payload less ${envelopeBytes} bytes)` });
}

/**
 * Reads and parses a JSON body of at most `maxBytes` (by default what nats-server's default
 * max_payload leaves). A larger one is refused as soon as it shows, from its content-length or
 * once that many bytes have come, and the rest is never read. Event listeners rather than
 * `for await`: the async iterator costs ~10% of throughput on small requests (bench/http-layer.ts).
 */
export function readJsonBody(req: IncomingMessage, maxBytes = bodyLimitFor(defaultMaxPayload)): Promise<unknown | LlmuxError> {
  if (Number(req.headers['content-length']) > maxBytes) return Promise.resolve(tooLarge(maxBytes));
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBytes) {
        refused = true;
        chunks.length = 0;
        req.pause(); // the 413 closes the connection (sendError)
        resolve(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => resolve(invalidRequest('body', 'the request body could not be read')));
    req.on('end', () => {
      if (refused) return;
      const text = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(invalidRequest('body', 'the request body is empty; send a JSON object'));
      let parsed: unknown;
      try {
        parsed = JSON.parse(text) as unknown;
      } catch (error) {
        return resolve(invalidRequest('body', `the request body is not valid JSON: ${(error as Error).message}`));
      }
      if (depthOf(parsed, maxJsonDepth) > maxJsonDepth) return resolve(invalidRequest('body', `the request body nests deeper than ${maxJsonDepth} levels`));
      // Re-encoded with msgpack for NATS, a body of numbers grows: only one that might outgrow the limit is encoded to see.
      if (size * maxEncodingGrowth > maxBytes && encode(parsed).length > maxBytes) return resolve(tooLarge(maxBytes));
      resolve(parsed);
    });
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

/** `body` is the dialect's error shape (an operation's `errorBody`), OpenAI's unless given. */
export function sendError(res: ServerResponse, error: ErrorInfo, headers: Record<string, string> = {}, body: (error: ErrorInfo) => unknown = openAiErrorBody): number {
  const status = httpStatusOf(error.code);
  const extra = error.code === 'no_active_backend' ? { 'retry-after': '1', ...headers }
    // The rest of an oversized body is never read, so this connection cannot carry another request.
    : error.code === 'request_too_large' ? { connection: 'close', ...headers } : headers;
  if (res.headersSent) {
    res.end();
    return status;
  }
  sendJson(res, status, body(error), extra);
  return status;
}

/** The SSE event that ends a broken stream: never a silent clean end. */
export function sseErrorEvent(error: ErrorInfo): string {
  return `event: error\ndata: ${JSON.stringify(openAiErrorBody(error))}\n\n`;
}
