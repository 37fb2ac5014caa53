// The loopback proxy's modes against an echo server: open forwards, cut resets and refuses, freeze
// holds bytes, new connections and closes until the heal, and modes can differ per peer.
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy, type TcpProxyOptions } from './tcp-proxy.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An echo server that counts the connections it accepted and the ones that ended. */
async function echo(): Promise<{ server: Server; port: number; accepted: () => number; ended: () => number }> {
  let accepted = 0;
  let ended = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => ended++);
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  return { server, port: (server.address() as AddressInfo).port, accepted: () => accepted, ended: () => ended };
}

async function proxyTo(port: number, options?: TcpProxyOptions): Promise<TcpProxy> {
  const proxy = await TcpProxy.start(port, options);
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A client through the proxy, collecting what it reads and whether it was closed. */
async function client(port: number): Promise<{ socket: Socket; read: () => string; closed: () => boolean }> {
  const socket = createConnection({ host: '127.0.0.1', port });
  let read = '';
  let closed = false;
  socket.on('data', (d: Buffer) => { read += d.toString(); });
  socket.on('close', () => { closed = true; });
  socket.on('error', () => undefined);
  // A refused connection may be reset before 'connect' is seen.
  await new Promise<void>((r) => {
    socket.once('connect', () => r());
    socket.once('close', () => r());
  });
  cleanups.push(() => { socket.destroy(); });
  return { socket, read: () => read, closed: () => closed };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(10);
  }
}

describe('tcp proxy', () => {
  it('tcp proxy - forwards both ways while open', async () => {
    const target = await echo();
    const c = await client((await proxyTo(target.port)).port);
    c.socket.write('hello');
    await until('the echo', () => c.read() === 'hello');
  });

  it('tcp proxy - a cut resets every connection and refuses new ones until the heal', async () => {
    const target = await echo();
    const proxy = await proxyTo(target.port);
    const c = await client(proxy.port);
    c.socket.write('x');
    await until('the echo', () => c.read() === 'x');
    expect(proxy.cut()).toBe(1);
    await until('the client sees the cut', c.closed);
    const refused = await client(proxy.port);
    await until('a new connection is closed at once', refused.closed);
    expect(target.accepted()).toBe(1);
    proxy.heal();
    const after = await client(proxy.port);
    after.socket.write('y');
    await until('the echo after the heal', () => after.read() === 'y');
  });

  it('tcp proxy - a timed cut heals by itself', async () => {
    const target = await echo();
    const proxy = await proxyTo(target.port);
    proxy.cut(100);
    await sleep(150);
    const c = await client(proxy.port);
    c.socket.write('z');
    await until('the echo', () => c.read() === 'z');
  });

  it('tcp proxy - a freeze holds bytes, new connections and closes until the heal; then bytes flow and held dials reach the target', async () => {
    const target = await echo();
    const proxy = await proxyTo(target.port);
    const live = await client(proxy.port);
    const leaving = await client(proxy.port);
    await until('both connected to the target', () => target.accepted() === 2);
    proxy.freeze();
    live.socket.write('held');
    const dialled = await client(proxy.port);
    leaving.socket.destroy();
    await sleep(200);
    expect([live.read(), proxy.held, target.accepted(), target.ended()]).toEqual(['', 1, 2, 0]);
    proxy.heal();
    await until('the held bytes are echoed', () => live.read() === 'held');
    await until('the held dial reaches the target', () => target.accepted() === 3);
    await until('the close made during the freeze reaches the target', () => target.ended() === 1);
    dialled.socket.write('late');
    await until('the held dial works', () => dialled.read() === 'late');
  });

  it('tcp proxy - modes can differ per peer', async () => {
    const target = await echo();
    let next = 'p';
    const proxy = await proxyTo(target.port, { peerOf: () => next });
    const p = await client(proxy.port);
    next = 'q';
    const q = await client(proxy.port);
    await until('both connected to the target', () => target.accepted() === 2);
    proxy.apply((peer) => (peer === 'p' ? 'cut' : 'open'));
    await until('p is cut', p.closed);
    q.socket.write('still');
    await until('q still echoes', () => q.read() === 'still');
  });
});
