// The gateway's front door against hostile and unusual clients: bodies larger than a NATS message
// carries, headers and bodies trickled in, idle and piled-up connections, a client that half-closes
// its socket. Real sockets (node:net) on a real stack; each test also shows others served meanwhile.
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOf } from '../src/actors/gateway/http-limits.js';
import type { LocalStack } from '../src/launch/local-stack.js';
import { type RunningGateway, runGateway } from '../src/launch/roles.js';
import { silentLogger } from '../src/observability/logger.js';
import { startTestStack, testApiKey, waitFor } from './support/stack.js';

let stack: LocalStack;
/** Gateways of the same stack: one with short timeouts, one with small connection caps. */
let hasty: RunningGateway;
let capped: RunningGateway;

beforeAll(async () => {
  stack = await startTestStack({ workers: 2, sim: { itlMs: 5 } });
  const more = { natsUrl: stack.natsUrl, ...stack.natsCredentials, log: silentLogger(), apiKeys: [testApiKey], ledger: false };
  hasty = await runGateway({ ...more, http: { headersTimeoutMs: 1_000, bodyTimeoutMs: 2_000, keepAliveTimeoutMs: 500 } });
  capped = await runGateway({ ...more, http: { maxConnections: 5, maxConnectionsPerClient: 3 } });
}, 60_000);
afterAll(async () => {
  await hasty?.stop();
  await capped?.stop();
  await stack?.stop();
});

const model = (): string => stack.models[0] as string;
const chatBody = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ model: model(), max_tokens: 4, messages: [{ role: 'user', content: 'hello' }], ...extra });

/** An ordinary request on its own connection (closed after), optionally from another loopback address. */
function ordinary(url: string, localAddress = '127.0.0.1'): Promise<number> {
  const body = JSON.stringify(chatBody());
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/chat/completions`, {
      method: 'POST', agent: false, localAddress,
      headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A request head, as a client writes it. */
function head(path: string, headers: Record<string, string>): string {
  const lines = Object.entries({ host: 'llmux', authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json', ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`);
  return `POST ${path} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

interface Conversation {
  socket: Socket;
  /** Everything the gateway sent until the connection closed, and when it closed. */
  ended: Promise<{ text: string; afterMs: number }>;
}

/** A raw connection, recording what the gateway sends; optionally from another loopback address. */
function open(url: string, localAddress = '127.0.0.1'): Conversation {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port), localAddress });
  const started = Date.now();
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
  socket.on('error', () => undefined);
  const ended = new Promise<{ text: string; afterMs: number }>((resolve) => socket.on('close', () => resolve({ text, afterMs: Date.now() - started })));
  return { socket, ended };
}

/** Fails instead of waiting out the test timeout. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms))]);
}

const bodyOf = (text: string): string => text.slice(text.indexOf('\r\n\r\n') + 4);
const connected = (s: Socket): Promise<void> => new Promise((resolve) => (s.connecting ? s.once('connect', () => resolve()) : resolve()));

describe('http limits - bodies', () => {
  it('answers 413 in the OpenAI error shape for a body larger than a NATS message carries, and serves others meanwhile', async () => {
    const image = (bytes: number): string => JSON.stringify(chatBody({
      messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(bytes)}` } }] }],
    }));
    const post = async (body: string): Promise<{ status: number; body: any }> => {
      const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' }, body,
      });
      return { status: res.status, body: await res.json() };
    };
    // A 1.5 MB image (over nats-server's default 1 MiB max_payload), a 900 KB one, and an ordinary request.
    const [large, fits, other] = await Promise.all([post(image(1_500_000)), post(image(900_000)), ordinary(stack.gatewayUrl)]);
    expect(large.status).toBe(413);
    expect(large.body).toEqual({ error: { code: 'request_too_large', type: 'invalid_request_error', param: null, message: expect.stringMatching(/max_payload/) } });
    expect(fits.status).toBe(200);
    expect(other).toBe(200);
  });

  it('answers 413 as soon as a body passes the limit, without waiting for the rest of it', async () => {
    // Declared too large: answered before a byte of the body is sent.
    const declared = open(stack.gatewayUrl);
    declared.socket.write(head('/v1/chat/completions', { 'content-length': '50000000' }));
    // Chunked and never finished: answered once more than the limit has come.
    const chunked = open(stack.gatewayUrl);
    chunked.socket.write(head('/v1/chat/completions', { 'transfer-encoding': 'chunked' }));
    const chunk = 'a'.repeat(64 * 1024);
    for (let i = 0; i < 20; i++) chunked.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const [a, b] = await within(Promise.all([declared.ended, chunked.ended]), 5_000, 'an answer to an oversized body');
    for (const { text } of [a, b]) {
      expect(text).toMatch(/^HTTP\/1\.1 413 /);
      expect(JSON.parse(bodyOf(text)).error.code).toBe('request_too_large');
    }
    expect(await ordinary(stack.gatewayUrl)).toBe(200);
  });

  it('answers 413 for a body whose JSON fits but whose re-encoding for NATS would not', async () => {
    // 0.5 takes 4 bytes of JSON ("0.5,") and 9 of msgpack (a float64): 600 KB of it encodes to 1.35 MB.
    const body = JSON.stringify(chatBody({ weights: Array.from({ length: 150_000 }, () => 0.5) }));
    const [res, other] = await Promise.all([
      fetch(`${stack.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' }, body }),
      ordinary(stack.gatewayUrl),
    ]);
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.code).toBe('request_too_large');
    expect(other).toBe(200);
  });
});

describe('http limits - slow clients', () => {
  it('closes a connection whose headers trickle in past the headers timeout, and serves others meanwhile', async () => {
    const slow = open(hasty.url);
    const partial = head('/v1/chat/completions', { 'content-length': '2' }).slice(0, -2) + `x-padding: ${'p'.repeat(500)}`;
    let i = 0;
    const trickle = setInterval(() => (i < partial.length && !slow.socket.destroyed ? slow.socket.write(partial[i++] as string) : clearInterval(trickle)), 50);
    const silent = open(hasty.url);
    try {
      expect(await ordinary(hasty.url)).toBe(200);
      const [trickled, quiet] = await within(Promise.all([slow.ended, silent.ended]), 5_000, 'closing slow connections');
      for (const { text, afterMs } of [trickled, quiet]) {
        expect(text).toMatch(/^HTTP\/1\.1 408 /);
        expect(afterMs).toBeGreaterThanOrEqual(900);
        expect(afterMs).toBeLessThan(2_500);
      }
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes a connection whose body trickles in past the body timeout, and serves others meanwhile', async () => {
    const slow = open(hasty.url);
    const body = JSON.stringify(chatBody());
    slow.socket.write(head('/v1/chat/completions', { 'content-length': String(Buffer.byteLength(body)) }));
    let i = 0;
    const trickle = setInterval(() => (i < body.length && !slow.socket.destroyed ? slow.socket.write(body[i++] as string) : clearInterval(trickle)), 100);
    try {
      await new Promise((r) => setTimeout(r, 1_200)); // past the headers timeout: the body's own bound applies
      expect(await ordinary(hasty.url)).toBe(200);
      const { text, afterMs } = await within(slow.ended, 5_000, 'closing a slow body');
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(afterMs).toBeGreaterThanOrEqual(1_900);
      expect(afterMs).toBeLessThan(3_500);
    } finally {
      clearInterval(trickle);
    }
  });

  it('lets a streaming answer run far past the body timeout: that bounds receiving the request, not sending the answer', async () => {
    const started = Date.now();
    const res = await fetch(`${hasty.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody({ stream: true, max_tokens: 1_000 })), // 5 ms a token: about 5 s
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(Date.now() - started).toBeGreaterThan(4_000); // twice the body timeout
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(text).not.toContain('event: error');
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const idle = open(hasty.url);
    const body = JSON.stringify(chatBody());
    idle.socket.write(head('/v1/chat/completions', { 'content-length': String(Buffer.byteLength(body)) }) + body);
    const { text, afterMs } = await within(idle.ended, 5_000, 'closing an idle connection');
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(afterMs).toBeLessThan(3_000); // 500 ms, plus the second Node.js adds to what it announces
  });
});

describe('http limits - connection caps', () => {
  it('refuses connections over the per-client and total caps, serves other clients meanwhile, and frees a slot when one closes', async () => {
    const held: Conversation[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(open(capped.url));
      await Promise.all(held.map((c) => connected(c.socket)));
      // A fourth from the same address is closed at once, without an answer.
      const fourth = open(capped.url);
      const refused = await within(fourth.ended, 2_000, 'refusing a fourth connection');
      expect(refused.text).toBe('');
      // Another client is served meanwhile, and may hold connections of its own up to the total cap.
      expect(await ordinary(capped.url, '127.0.0.2')).toBe(200);
      await new Promise((r) => setTimeout(r, 100)); // its connection closed on the gateway's side too
      for (let i = 0; i < 2; i++) held.push(open(capped.url, '127.0.0.2'));
      await Promise.all(held.map((c) => connected(c.socket)));
      await new Promise((r) => setTimeout(r, 100));
      expect(held.filter((c) => c.socket.destroyed)).toEqual([]);
      const overTotal = open(capped.url, '127.0.0.3');
      expect((await within(overTotal.ended, 2_000, 'refusing a connection over the total cap')).text).toBe('');
      // A held connection closes: its client may open another, and it is served.
      const gone = held.shift() as Conversation;
      gone.socket.destroy();
      await gone.ended;
      await waitFor(async () => (await ordinary(capped.url).catch(() => 0)) === 200, 3_000);
    } finally {
      for (const c of held) c.socket.destroy();
    }
  });
});

describe('http limits - client addresses', () => {
  it('counts an IPv4 client by its address and an IPv6 client by its /64', () => {
    expect(clientOf('127.0.0.1')).toBe('127.0.0.1');
    expect(clientOf('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientOf('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientOf('2001:DB8:0001:0002::7')).toBe('2001:db8:1:2::/64');
    expect(clientOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientOf('::1')).toBe('0:0:0:0::/64');
    expect(clientOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('http limits - half-closed sockets', () => {
  it('answers a client that half-closes its socket right after sending a request, in full, and serves others meanwhile', async () => {
    const plain = open(stack.gatewayUrl);
    const streamed = open(stack.gatewayUrl);
    const conversations: Array<[Conversation, Record<string, unknown>]> = [[plain, chatBody({ max_tokens: 50 })], [streamed, chatBody({ stream: true, max_tokens: 50 })]];
    for (const [c, b] of conversations) {
      const body = JSON.stringify(b);
      c.socket.end(head('/v1/chat/completions', { 'content-length': String(Buffer.byteLength(body)) }) + body);
    }
    expect(await ordinary(stack.gatewayUrl)).toBe(200);
    const [a, s] = await within(Promise.all([plain.ended, streamed.ended]), 5_000, 'answers to half-closed sockets');
    expect(a.text).toMatch(/^HTTP\/1\.1 200 /);
    const answer = JSON.parse(bodyOf(a.text)) as { choices: Array<{ finish_reason: string }>; usage: { completion_tokens: number } };
    expect(answer.choices[0]?.finish_reason).toBe('length');
    expect(answer.usage.completion_tokens).toBe(50);
    expect(s.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(s.text).toContain('data: [DONE]');
  });

  it('still cancels the request of a client that closes its socket while waiting for a long answer', async () => {
    const abortedBefore = stack.sims.reduce((n, sim) => n + sim.stats().aborted, 0);
    const waiting = open(stack.gatewayUrl);
    const body = JSON.stringify(chatBody({ max_tokens: 4_000 })); // 5 ms a token: 20 s
    waiting.socket.write(head('/v1/chat/completions', { 'content-length': String(Buffer.byteLength(body)) }) + body);
    await waitFor(() => stack.workers.some((w) => w.inFlight() > 0), 3_000);
    await new Promise((r) => setTimeout(r, 1_500));
    waiting.socket.end();
    await waitFor(() => stack.sims.reduce((n, sim) => n + sim.stats().aborted, 0) > abortedBefore, 3_000);
    expect(await ordinary(stack.gatewayUrl)).toBe(200);
    waiting.socket.destroy();
  });
});
