/**
 * A ZeroMQ PUB socket over TCP in plain TypeScript (ZMTP 3.0, NULL mechanism: zmtp.ts), for the
 * simulator's KV events: binds, accepts SUB peers, keeps each peer's subscriptions (ZMTP 3.0
 * subscription messages and 3.1 SUBSCRIBE/CANCEL commands) and sends each multipart message to the
 * peers whose subscription is a prefix of its first part. Like libzmq's high-water mark, a peer that
 * reads too slowly loses messages rather than growing our memory: past `highWaterBytes` queued on
 * its socket, messages to it are dropped (and counted).
 */
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { command, greeting, message, ready, readyProperties, ZmtpReader } from './zmtp.js';

export interface ZmqPublisherOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Bytes queued per peer before messages to it are dropped. Default 8 MiB. */
  highWaterBytes?: number;
}

export interface ZmqPublisher {
  readonly port: number;
  /** Connected peers that have completed the handshake. */
  readonly peers: number;
  /** Peers with at least one subscription: what a test waits for before publishing. */
  readonly subscribed: number;
  /** Messages not sent to a peer because it was past the high-water mark. */
  readonly dropped: number;
  send(parts: readonly Uint8Array[]): void;
  close(): Promise<void>;
}

interface Peer {
  socket: Socket;
  ready: boolean;
  subscriptions: Buffer[];
}

const removeOne = (list: Buffer[], prefix: Buffer): void => {
  const i = list.findIndex((s) => s.equals(prefix));
  if (i >= 0) list.splice(i, 1);
};

export async function bindPublisher(options: ZmqPublisherOptions = {}): Promise<ZmqPublisher> {
  const highWaterBytes = options.highWaterBytes ?? 8 * 1024 * 1024;
  const peers = new Set<Peer>();
  let dropped = 0;
  const server = createServer((socket) => {
    const peer: Peer = { socket, ready: false, subscriptions: [] };
    peers.add(peer);
    const reader = new ZmtpReader(64 * 1024); // subscriptions are small; anything else is hostile
    socket.setNoDelay(true);
    socket.write(greeting());
    socket.write(ready('PUB'));
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const item of reader.push(chunk)) {
          if (item.type === 'command') {
            if (item.name === 'READY') {
              const type = readyProperties(item.body).get('socket-type');
              if (type !== 'SUB' && type !== 'XSUB') return void socket.destroy();
              peer.ready = true;
            } else if (item.name === 'SUBSCRIBE') peer.subscriptions.push(item.body);
            else if (item.name === 'CANCEL') removeOne(peer.subscriptions, item.body);
            else if (item.name === 'PING') socket.write(command('PONG', item.body.subarray(2)));
            continue;
          }
          const first = item.parts[0];
          if (item.parts.length !== 1 || !first || first.length === 0) continue; // a SUB sends nothing else
          if (first[0] === 1) peer.subscriptions.push(first.subarray(1));
          else if (first[0] === 0) removeOne(peer.subscriptions, first.subarray(1));
        }
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => peers.delete(peer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    get peers() {
      return [...peers].filter((p) => p.ready).length;
    },
    get subscribed() {
      return [...peers].filter((p) => p.ready && p.subscriptions.length > 0).length;
    },
    get dropped() {
      return dropped;
    },
    send(parts) {
      const topic = Buffer.from(parts[0] ?? new Uint8Array(0));
      let encoded: Buffer | undefined;
      for (const peer of peers) {
        if (!peer.ready || !peer.subscriptions.some((s) => topic.subarray(0, s.length).equals(s))) continue;
        if (peer.socket.writableLength > highWaterBytes) {
          dropped++;
          continue;
        }
        encoded ??= message(parts);
        peer.socket.write(encoded);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const peer of peers) peer.socket.destroy();
        server.close(() => resolve());
      }),
  };
}
