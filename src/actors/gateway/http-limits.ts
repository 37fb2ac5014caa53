/**
 * The gateway's front door against hostile and unusual clients: the largest body (what one NATS
 * message carries), how long a client may take to send its request, how long an idle connection
 * stays, how many connections one client and everyone may hold, and half-closed sockets. The
 * defaults and their reasons: docs/api.md, "Request size and connection limits".
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../observability/logger.js';

export interface HttpLimits {
  /** Longest a client may take to send a request's headers, counted from its first byte (or from connecting). 0: no bound. */
  headersTimeoutMs: number;
  /** Longest a client may take to send a whole request, headers and body; the answer is not bounded by it. 0: no bound. */
  bodyTimeoutMs: number;
  /** How long a keep-alive connection may stay idle between requests. */
  keepAliveTimeoutMs: number;
  /** Open connections at most; a connection beyond is closed at once. 0: no cap. */
  maxConnections: number;
  /** Open connections per client address (an IPv6 client: per /64) at most; beyond, closed at once. 0: no cap. */
  maxConnectionsPerClient: number;
}

export const defaultHttpLimits: HttpLimits = {
  headersTimeoutMs: 10_000,
  // A 1 MiB body at 300 kbit/s.
  bodyTimeoutMs: 30_000,
  // Longer than the 60 s idle timeout of common load balancers: they close first, so they never send
  // a request on a connection the gateway is closing.
  keepAliveTimeoutMs: 65_000,
  maxConnections: 8_192,
  maxConnectionsPerClient: 256,
};

/**
 * What a request's message to a router adds to its body, at most: the InferFrame fields (ids,
 * names, up to 512 prefix-block hashes) and the headers, measured at 5.8 KB with every field at
 * its longest. A stream that migrates also carries what it has said so far: not covered.
 */
export const envelopeBytes = 8 * 1024;
/** msgpack makes JSON at most 9/4 as large: `0.5,` (4 bytes) becomes a float64 (9). */
export const maxEncodingGrowth = 9 / 4;

/** The largest request body that fits a message of `maxPayload` bytes with its envelope. */
export function bodyLimitFor(maxPayload: number): number {
  return Math.max(0, maxPayload - envelopeBytes);
}

/** createServer's options for `limits`. */
export function serverOptions(limits: HttpLimits): ServerOptions {
  const { headersTimeoutMs, bodyTimeoutMs, keepAliveTimeoutMs } = limits;
  if (bodyTimeoutMs > 0 && headersTimeoutMs > bodyTimeoutMs) {
    throw new RangeError(`the headers timeout (${headersTimeoutMs} ms) must not exceed the body timeout (${bodyTimeoutMs} ms)`);
  }
  const shortest = Math.min(...[headersTimeoutMs, bodyTimeoutMs].filter((ms) => ms > 0));
  return {
    headersTimeout: headersTimeoutMs,
    requestTimeout: bodyTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    // Node.js checks both timeouts this often; its default, 30 s, would quadruple a 10 s headers timeout.
    connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(shortest / 4))),
  };
}

/**
 * The address a per-client cap counts: an IPv4 address, or an IPv6 client's /64 (one host often
 * holds a whole /64, so counting single IPv6 addresses would cap nothing).
 */
export function clientOf(address: string | undefined): string {
  if (!address) return 'unknown';
  const plain = address.split('%')[0] as string;
  if (!plain.includes(':')) return plain;
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(plain)) return plain.slice(7);
  const [left = '', right] = plain.split('::');
  const head = left === '' ? [] : left.split(':');
  const groups = right === undefined ? head : [...head, ...Array<string>(Math.max(0, 8 - head.length - (right === '' ? 0 : right.split(':').length))).fill('0'),
    ...(right === '' ? [] : right.split(':'))];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** Warns about refused connections at most once every 10 s, with their count: an attack must not flood the log. */
function refusalLog(log: Logger, cap: string): (client?: string) => void {
  let refused = 0;
  let loggedAt = 0;
  return (client) => {
    refused++;
    if (Date.now() - loggedAt < 10_000) return;
    log.warn({ refused, cap, ...(client ? { client } : {}) }, 'refused connections over a connection cap');
    refused = 0;
    loggedAt = Date.now();
  };
}

/**
 * The connection caps. Beyond one, the socket is destroyed at once rather than answered 503: an
 * answer would mean reading the request, which is what an attacker holding sockets wants.
 */
export function capConnections(server: Server, limits: HttpLimits, log: Logger): void {
  server.maxConnections = limits.maxConnections;
  server.on('drop', refusalLog(log, 'total'));
  if (limits.maxConnectionsPerClient <= 0) return;
  const perClient = refusalLog(log, 'per-client');
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const client = clientOf(socket.remoteAddress);
    const count = (open.get(client) ?? 0) + 1;
    if (count > limits.maxConnectionsPerClient) {
      perClient(client);
      socket.destroy();
      return;
    }
    open.set(client, count);
    socket.once('close', () => {
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
    });
  });
}

/** A FIN this soon after a request's last byte is a half-close; a later one, a client gone. */
export const halfCloseGraceMs = 1_000;

/**
 * A client may half-close its socket once its request is sent (`shutdown(SHUT_WR)`, `socket.end()`)
 * and wait for the answer. Node.js closes such a connection (`httpAllowHalfOpen` false), so that
 * client never got one. A FIN reads the same whether the client half-closed or went away, so timing
 * tells them apart: within `halfCloseGraceMs` of the request's last byte it is a half-close, and the
 * answer is sent in full; later, while the answer is still owed, the client is gone, and its socket
 * is destroyed so that its request is cancelled as before (a gone client only shows when a write
 * fails, which for an answer that is not streamed is at its very end).
 */
export function answerHalfClosed(server: Server): void {
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  const owed = new WeakMap<Socket, { req: IncomingMessage; res: ServerResponse; receivedAt: number | undefined }>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    const entry = { req, res, receivedAt: hasBody ? undefined : Date.now() };
    owed.set(req.socket, entry);
    req.once('end', () => (entry.receivedAt ??= Date.now()));
    res.once('finish', () => {
      if (owed.get(req.socket) === entry) owed.delete(req.socket);
    });
  });
  server.on('connection', (socket: Socket) => socket.on('end', () => {
    const entry = owed.get(socket);
    // No answer owed: Node.js ends the connection. A request cut short: Node.js reports it.
    if (!entry || entry.res.writableFinished || !entry.req.complete) return;
    // Complete but not yet read by the gateway (receivedAt unset): it has only just arrived.
    if (Date.now() - (entry.receivedAt ?? Date.now()) > halfCloseGraceMs) socket.destroy();
  }));
}
