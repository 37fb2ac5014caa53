/**
 * A loopback TCP proxy, so a test can hurt one link without touching the processes at either end:
 * - `cut`: every proxied connection is reset and new ones are reset on accept, as a firewall that
 *   rejects would do (a worker's NATS connection in chaos/, a gateway link in the supercluster);
 * - `freeze`: nothing more is forwarded either way and new connections are accepted but never reach
 *   the target, as a partition that drops packets would do: the ends notice only by their own
 *   timeouts (nats-server's PINGs, a TLS handshake timeout). A close at one end is not passed on.
 * - `heal`: frozen connections that both ends still hold resume (a short partition nobody noticed);
 *   the others are closed, and connections held during the freeze go on to the target.
 * Modes can differ per peer: `peerOf` names who dialled each accepted connection, and `apply` sets
 * a mode per peer name.
 */
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';

export const linkModes = ['open', 'cut', 'frozen'] as const;
export type LinkMode = (typeof linkModes)[number];

export interface TcpProxyOptions {
  /** Who dialled an accepted connection (undefined: unknown); asked once per connection. */
  peerOf?: (client: Socket) => string | undefined;
}

interface Pair {
  client: Socket;
  /** Undefined while a connection accepted during a freeze is held. */
  upstream?: Socket;
  peer: string | undefined;
  frozen: boolean;
  /** One end closed while frozen: the pair is closed at the heal. */
  dead: boolean;
}

export class TcpProxy {
  readonly #pairs = new Set<Pair>();
  #modeOf: (peer: string | undefined) => LinkMode = () => 'open';
  #healTimer: NodeJS.Timeout | undefined;

  private constructor(readonly server: Server, readonly port: number, public targetPort: number, private readonly options: TcpProxyOptions) {}

  static async start(targetPort: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => done());
    });
    const proxy = new TcpProxy(server, (server.address() as AddressInfo).port, targetPort, options);
    server.on('connection', (client) => proxy.#accept(client));
    return proxy;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Connections currently proxied (held and frozen ones included). */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Connections accepted during a freeze and held: they reach the target only at the heal. */
  get held(): number {
    return [...this.#pairs].filter((p) => p.upstream === undefined).length;
  }

  /** The local ports of the open connections to the target: what the target sees as their remote ports. */
  openUpstreamPorts(): number[] {
    return [...this.#pairs].flatMap((p) => (!p.frozen && !p.dead && p.upstream?.localPort !== undefined ? [p.upstream.localPort] : []));
  }

  #accept(client: Socket): void {
    const pair: Pair = { client, peer: this.options.peerOf?.(client), frozen: false, dead: false };
    client.setNoDelay(true);
    this.#pairs.add(pair);
    this.#watch(pair, client);
    this.#set(pair, this.#modeOf(pair.peer));
  }

  #connect(pair: Pair): void {
    const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
    upstream.setNoDelay(true);
    pair.upstream = upstream;
    this.#watch(pair, upstream);
    this.#forward(pair, pair.client, upstream);
    this.#forward(pair, upstream, pair.client);
  }

  #forward(pair: Pair, from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (to.write(chunk) || pair.frozen) return;
      from.pause();
      to.once('drain', () => {
        if (!pair.frozen) from.resume();
      });
    });
  }

  #watch(pair: Pair, socket: Socket): void {
    const ended = (): void => {
      if (pair.frozen) {
        // A partition does not carry the close: the other end finds out by its own timeouts.
        pair.dead = true;
        socket.destroy();
      } else this.#close(pair, false);
    };
    socket.on('error', ended);
    socket.on('close', ended);
  }

  #close(pair: Pair, reset: boolean): void {
    this.#pairs.delete(pair);
    for (const s of [pair.client, pair.upstream]) {
      if (s && !s.destroyed) {
        if (reset) s.resetAndDestroy();
        else s.destroy();
      }
    }
  }

  #set(pair: Pair, mode: LinkMode): void {
    switch (mode) {
      case 'cut':
        this.#close(pair, true);
        return;
      case 'frozen':
        pair.frozen = true;
        pair.client.pause();
        pair.upstream?.pause();
        return;
      case 'open':
        if (pair.dead) {
          this.#close(pair, false);
          return;
        }
        pair.frozen = false;
        if (pair.upstream === undefined) this.#connect(pair);
        pair.client.resume();
        pair.upstream?.resume();
        return;
      default: {
        const never: never = mode;
        throw new Error(`unknown link mode ${String(never)}`);
      }
    }
  }

  /** Sets the mode of every connection by its peer, now and for each new one. */
  apply(modeOf: (peer: string | undefined) => LinkMode): void {
    clearTimeout(this.#healTimer);
    this.#modeOf = modeOf;
    for (const pair of [...this.#pairs]) this.#set(pair, modeOf(pair.peer));
  }

  /** Resets every connection; refuses new ones until `heal()`, or for `outageMs`. Returns how many were cut. */
  cut(outageMs?: number): number {
    const cut = this.#pairs.size;
    this.apply(() => 'cut');
    if (outageMs !== undefined) this.#healTimer = setTimeout(() => this.heal(), outageMs).unref();
    return cut;
  }

  /** Stops forwarding either way and holds new connections, until `heal()`. */
  freeze(): void {
    this.apply(() => 'frozen');
  }

  heal(): void {
    this.apply(() => 'open');
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}
