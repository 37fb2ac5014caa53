/**
 * A loopback TCP proxy between one worker and nats-server, so a test can cut that worker's NATS
 * connection without touching anyone else's: `cut(outageMs)` destroys every socket pair and refuses
 * new connections for `outageMs` (a network partition), then lets the worker reconnect.
 */
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly #pairs = new Set<[Socket, Socket]>();
  #refuseUntil = 0;

  private constructor(readonly server: Server, readonly port: number, public targetPort: number) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => done());
    });
    const proxy = new TcpProxy(server, (server.address() as AddressInfo).port, targetPort);
    server.on('connection', (client) => proxy.#accept(client));
    return proxy;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Connections currently proxied. */
  get connections(): number {
    return this.#pairs.size;
  }

  #accept(client: Socket): void {
    if (Date.now() < this.#refuseUntil) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const drop = (): void => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.setNoDelay(true);
      s.on('error', drop);
      s.on('close', drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Destroys every proxied connection; refuses new ones for `outageMs`. Returns how many were cut. */
  cut(outageMs: number): number {
    this.#refuseUntil = Date.now() + outageMs;
    const cut = this.#pairs.size;
    for (const [a, b] of [...this.#pairs]) {
      a.destroy();
      b.destroy();
    }
    this.#pairs.clear();
    return cut;
  }

  async close(): Promise<void> {
    this.cut(0);
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}
