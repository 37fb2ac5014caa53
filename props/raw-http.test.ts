// The fuzz harness's raw client reads whole responses in every framing, and a long stream without
// re-reading it all on every chunk (which made a 3,000-token stream look like a slow gateway).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendRaw } from './raw-http.js';

const events = 3_000;
let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/length') return void res.writeHead(200, { 'content-length': '5' }).end('hello');
    if (req.url === '/close') {
      // No length, not chunked: the body ends where the connection does.
      res.socket?.write('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nab');
      return void res.socket?.end('c');
    }
    if (req.url === '/trailers') {
      res.writeHead(200, { trailer: 'x-done' });
      res.write('part');
      res.addTrailers({ 'x-done': '1' });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let i = 0;
    const next = (): void => {
      if (i === events) return void res.end('data: [DONE]\n\n');
      res.write(`data: {"i":${i++}}\n\n`, () => setImmediate(next));
    };
    next();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => void server.close());

const get = (target: string) => sendRaw(port, { method: 'GET', target, headers: [['host', 'x']], body: Buffer.alloc(0), halfClose: false }, 20_000);

describe('raw HTTP client', () => {
  it('reads a chunked stream of 3,000 events whole', async () => {
    const out = await get('/sse');
    console.log(`raw client: ${events} events read in ${out.ms} ms`);
    expect(out.kind).toBe('answer');
    if (out.kind !== 'answer') return;
    const lines = out.body.toString('utf8').split('\n\n').filter(Boolean);
    expect(lines).toHaveLength(events + 1);
    expect(lines[events - 1]).toBe(`data: {"i":${events - 1}}`);
    expect(lines.at(-1)).toBe('data: [DONE]');
  });

  it('reads a body by its content-length, to its close, and a chunked one with trailers', async () => {
    const byLength = await get('/length');
    expect(byLength.kind === 'answer' && byLength.body.toString()).toBe('hello');
    const toClose = await get('/close');
    expect(toClose.kind === 'answer' && toClose.body.toString()).toBe('abc');
    const trailed = await get('/trailers');
    expect(trailed.kind === 'answer' && trailed.body.toString()).toBe('part');
  });
});
