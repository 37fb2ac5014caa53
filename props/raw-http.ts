/**
 * A bare HTTP/1.1 client over node:net for the fuzz harness: it writes exactly the bytes it is given
 * (lying content-lengths, repeated or malformed headers, control characters, half-closes), which
 * fetch and node:http refuse to send, and reads back the first response, bounded in time.
 */
import { connect } from 'node:net';

export interface RawRequest {
  method: string;
  /** The request target as written on the request line. */
  target: string;
  /** Header lines in order, repeats allowed, written as `name: value`. */
  headers: ReadonlyArray<readonly [string, string]>;
  body: Buffer;
  /** Half-close the socket once everything is written (`socket.end()`), rather than waiting. */
  halfClose: boolean;
}

export type RawOutcome =
  | { kind: 'answer'; status: number; headers: Record<string, string>; body: Buffer; ms: number }
  /** The server closed (or reset) the connection before a whole response came. */
  | { kind: 'closed'; received: number; ms: number }
  | { kind: 'timeout'; received: number; ms: number };

/** The bytes of `request`, head and body. */
export function encodeRequest(request: RawRequest): Buffer {
  const head = [`${request.method} ${request.target} HTTP/1.1`, ...request.headers.map(([n, v]) => `${n}: ${v}`), '', ''].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), request.body]);
}

interface Head {
  status: number;
  headers: Record<string, string>;
  bodyStart: number;
}

function parseHead(buf: Buffer): Head | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, bodyStart: end + 4 };
}

/** A chunked body decoded, or undefined while its last chunk has not come. */
function dechunk(buf: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(at, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (Number.isNaN(size)) return Buffer.concat(parts); // not chunked after all: take what there is
    if (size === 0) return buf.indexOf('\r\n', eol + 2) >= 0 ? Buffer.concat(parts) : undefined;
    if (buf.length < eol + 2 + size + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/**
 * The whole first final response in `buf` (1xx interim answers skipped), or undefined while it is
 * incomplete; `closed`: the server has ended the connection, so a body without framing is complete.
 */
function responseIn(buf: Buffer, headOnly: boolean, closed: boolean): { status: number; headers: Record<string, string>; body: Buffer } | undefined {
  let rest = buf;
  for (;;) {
    const head = parseHead(rest);
    if (!head) return undefined;
    if (head.status >= 100 && head.status < 200) {
      rest = rest.subarray(head.bodyStart);
      continue;
    }
    const body = rest.subarray(head.bodyStart);
    if (headOnly || head.status === 204 || head.status === 304) return { ...head, body: Buffer.alloc(0) };
    if (/chunked/i.test(head.headers['transfer-encoding'] ?? '')) {
      const whole = dechunk(body);
      return whole ? { ...head, body: whole } : undefined;
    }
    const length = head.headers['content-length'];
    if (length !== undefined) return body.length >= Number(length) ? { ...head, body: body.subarray(0, Number(length)) } : undefined;
    return closed ? { ...head, body } : undefined;
  }
}

/**
 * Whether the bytes so far may hold a whole response, from the latest chunk: always until a final
 * (non-1xx) head has come; then, chunked, when the bytes end as a last chunk (or its trailers) does (`\r\n\r\n`);
 * with a content-length, when that many body bytes are in; otherwise only at the close.
 */
function completionGate(headOnly: boolean): (chunks: readonly Buffer[], latest: Buffer, received: number) => boolean {
  let framing: { kind: 'chunked' } | { kind: 'length'; total: number } | { kind: 'close' } | undefined;
  let tail = Buffer.alloc(0);
  return (chunks, latest, received) => {
    tail = Buffer.concat([tail, latest.subarray(-4)]).subarray(-4);
    if (!framing) {
      const all = Buffer.concat(chunks);
      const head = parseHead(all);
      if (!head || (head.status >= 100 && head.status < 200) || headOnly) return true;
      const length = head.headers['content-length'];
      framing = /chunked/i.test(head.headers['transfer-encoding'] ?? '') ? { kind: 'chunked' }
        : length !== undefined ? { kind: 'length', total: head.bodyStart + Number(length) } : { kind: 'close' };
      return true;
    }
    if (framing.kind === 'chunked') return tail.toString('latin1') === '\r\n\r\n';
    // Written so that a content-length that is not a number (NaN) reads on every chunk, as before.
    if (framing.kind === 'length') return !(received < framing.total);
    return false;
  };
}

/** Sends `request` to 127.0.0.1:`port` and waits at most `timeoutMs` for its response. */
export function sendRaw(port: number, request: RawRequest, timeoutMs: number): Promise<RawOutcome> {
  const started = Date.now();
  const headOnly = request.method === 'HEAD';
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (outcome: RawOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => settle({ kind: 'timeout', received, ms: Date.now() - started }), timeoutMs);
    const check = (closed: boolean): void => {
      const r = responseIn(Buffer.concat(chunks), headOnly, closed);
      if (r) settle({ kind: 'answer', ...r, ms: Date.now() - started });
      else if (closed) settle({ kind: 'closed', received, ms: Date.now() - started });
    };
    // Reading the whole response again on every chunk is quadratic: a stream of 3,000 tokens took this
    // client seconds of its own, which counted against the server's time. Once a final head is in,
    // the response is read again only when its framing says it may be whole.
    const gate = completionGate(headOnly);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (gate(chunks, d, received)) check(false);
    });
    socket.on('end', () => check(true));
    socket.on('close', () => check(true));
    socket.on('error', () => check(true));
    socket.on('connect', () => {
      socket.write(encodeRequest(request), () => {
        if (request.halfClose) socket.end();
      });
    });
  });
}
