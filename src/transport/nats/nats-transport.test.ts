// The NATS transport against a real nats-server on a random loopback port.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Inbound } from '../transport.js';
import { connectNats, type NatsTransport } from './nats-transport.js';
import { type NatsServerHandle, startNatsServer } from './nats-server-process.js';

let server: NatsServerHandle;
let a: NatsTransport;
let b: NatsTransport;

const next = (received: Inbound[], count: number) =>
  new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const poll = () => (received.length >= count ? resolve() : Date.now() - started > 3000 ? reject(new Error('timeout')) : setTimeout(poll, 5));
    poll();
  });

beforeAll(async () => {
  server = await startNatsServer();
  a = await connectNats({ servers: server.url, name: 'test-a' });
  b = await connectNats({ servers: server.url, name: 'test-b' });
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await server?.stop();
});

describe('nats transport', () => {
  it('never uses the shared server on 4222', () => {
    expect(server.port).not.toBe(4222);
  });

  it('carries msgpack bodies with request id, deadline and traceparent headers', async () => {
    const got: Inbound[] = [];
    b.subscribe('t.headers', (m) => got.push(m));
    await b.flush();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    a.publish('t.headers', { type: 'x', n: 1, s: 'ü€' }, { reply: 'r.1', headers: { requestId: 'req-1', deadline: 12345, traceparent } });
    await next(got, 1);
    expect(got[0]?.body).toEqual({ type: 'x', n: 1, s: 'ü€' });
    expect(got[0]?.reply).toBe('r.1');
    expect(got[0]?.headers).toEqual({ requestId: 'req-1', deadline: 12345, traceparent });
  });

  it('forwards a message untouched, keeping its reply subject', async () => {
    const got: Inbound[] = [];
    b.subscribe('t.fwd.in', (m) => a.forward('t.fwd.out', m));
    a.subscribe('t.fwd.out', (m) => got.push(m));
    await Promise.all([a.flush(), b.flush()]);
    a.publish('t.fwd.in', { hello: 'world' }, { reply: 'inbox.9', headers: { requestId: 'r9' } });
    await next(got, 1);
    expect(got[0]).toMatchObject({ subject: 't.fwd.out', reply: 'inbox.9', body: { hello: 'world' }, headers: { requestId: 'r9' } });
  });

  it('reports "no responders" to the reply inbox when nobody listens', async () => {
    const got: Inbound[] = [];
    const inbox = a.newInboxPrefix();
    a.subscribe(`${inbox}.*`, (m) => got.push(m));
    await a.flush();
    a.publish('t.nobody.home', { x: 1 }, { reply: `${inbox}.1` });
    await next(got, 1);
    expect(got[0]?.noResponders).toBe(true);
  });

  it('stores and watches control-plane values in JetStream KV', async () => {
    const kv = await a.keyValue('test_bucket');
    await kv.put('functions.f1', { id: 'f1' });
    const seen: Array<[string, unknown]> = [];
    const kvB = await b.keyValue('test_bucket');
    const watch = await kvB.watch('functions.', (e) => seen.push([e.key, e.value]));
    expect(seen).toEqual([['functions.f1', { id: 'f1' }]]);
    await kv.put('functions.f2', { id: 'f2' });
    await kv.delete('functions.f1');
    await kv.put('versions.f2.v1', { ignored: true });
    await kv.put('functions.f3', { id: 'f3' }); // a sentinel after the key outside the prefix
    await vi.waitFor(() => expect(seen).toHaveLength(4));
    expect(seen).toEqual([['functions.f1', { id: 'f1' }], ['functions.f2', { id: 'f2' }], ['functions.f1', undefined], ['functions.f3', { id: 'f3' }]]);
    expect((await kv.get('functions.f2'))?.value).toEqual({ id: 'f2' });
    expect(await kv.get('functions.f1')).toBeUndefined();
    watch.unsubscribe();
  });

  it('with noEcho, delivers what a connection publishes to the others\' subscriptions but not to its own', async () => {
    const quiet = await connectNats({ servers: server.url, name: 'test-no-echo', noEcho: true });
    try {
      const own: Inbound[] = [];
      const other: Inbound[] = [];
      quiet.subscribe('t.echo', (m) => own.push(m));
      b.subscribe('t.echo', (m) => other.push(m));
      await quiet.flush();
      await b.flush();
      quiet.publish('t.echo', { n: 1 });
      b.publish('t.echo', { n: 2 });
      await next(other, 2);
      await next(own, 1);
      await quiet.flush();
      expect(own.map((m) => m.body)).toEqual([{ n: 2 }]);
    } finally {
      await quiet.close();
    }
  });
});
