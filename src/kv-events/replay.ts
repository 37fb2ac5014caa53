/**
 * vLLM's KV event replay (ZmqEventPublisher's `replay_endpoint`): a ROUTER socket that, asked with
 * an 8-byte big-endian start sequence number, sends back every buffered `[seq, payload]` from it
 * on, then `[-1, ""]`. A subscriber that saw a gap can fetch what it missed instead of starting
 * over. Both sides here, over ZMTP 3.0 (zmtp.ts): the server for the simulator, with a ring buffer
 * of recent batches, and a one-shot DEALER request for the worker's relay. Requests and replies
 * carry the REQ envelope (an empty first part), as vLLM's ROUTER expects.
 */
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { seqBytes, readSeq } from './vllm-events.js';
import { greeting, message, ready, readyProperties, ZmtpReader } from './zmtp.js';
import { parseTcpEndpoint } from './zmq-sub.js';

const END_SEQ = -1n;
const EMPTY = Buffer.alloc(0);

export interface ReplayServer {
  readonly port: number;
  /** Keeps a published batch for replay, dropping the oldest past `capacity`. */
  record(seq: bigint, payload: Uint8Array): void;
  close(): Promise<void>;
}

export async function bindReplayServer(options: { host?: string; port?: number; capacity?: number } = {}): Promise<ReplayServer> {
  const capacity = options.capacity ?? 10_000; // vLLM's buffer_steps default
  const buffer: Array<{ seq: bigint; payload: Uint8Array }> = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const reader = new ZmtpReader(64 * 1024);
    let peerReady = false;
    socket.write(greeting());
    socket.write(ready('ROUTER'));
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const item of reader.push(chunk)) {
          if (item.type === 'command') {
            if (item.name !== 'READY') continue;
            const type = readyProperties(item.body).get('socket-type');
            if (type !== 'REQ' && type !== 'DEALER') return void socket.destroy();
            peerReady = true;
            continue;
          }
          if (!peerReady) return void socket.destroy();
          const parts = item.parts[0]?.length === 0 ? item.parts.slice(1) : item.parts;
          const start = readSeq(parts[0]);
          if (parts.length !== 1 || start === undefined) continue; // vLLM ignores a malformed request too
          for (const b of buffer) if (b.seq >= start) socket.write(message([EMPTY, seqBytes(b.seq), b.payload]));
          socket.write(message([EMPTY, seqBytes(END_SEQ), EMPTY]));
        }
      } catch {
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    record(seq, payload) {
      buffer.push({ seq, payload });
      if (buffer.length > capacity) buffer.shift();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Asks a replay server for every batch from `start` on: resolves with them in the order sent, or
 * rejects (timeout, protocol error, connection lost) — the caller then starts over instead. At most
 * `maxBatches` are taken; more is a failure, not a partial answer.
 */
export function requestReplay(endpoint: string, start: bigint, options: { timeoutMs?: number; maxBatches?: number; maxMessageBytes?: number; signal?: AbortSignal } = {}): Promise<Array<{ seq: bigint; payload: Buffer }>> {
  const { host, port } = parseTcpEndpoint(endpoint);
  const maxBatches = options.maxBatches ?? 10_000;
  return new Promise((resolve, reject) => {
    const got: Array<{ seq: bigint; payload: Buffer }> = [];
    const reader = new ZmtpReader(options.maxMessageBytes ?? 16 * 1024 * 1024);
    const socket = connect({ host, port });
    const onAbort = (): void => done(new Error('replay request aborted'));
    const done = (error?: Error): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve(got);
    };
    const timer = setTimeout(() => done(new Error(`no replay from ${endpoint} within ${options.timeoutMs ?? 2000} ms`)), options.timeoutMs ?? 2000);
    if (options.signal?.aborted) return done(new Error('replay request aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('connect', () => {
      socket.write(greeting());
      socket.write(ready('DEALER'));
    });
    socket.on('error', (error) => done(error));
    socket.on('close', () => done(new Error(`the replay connection to ${endpoint} closed`)));
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const item of reader.push(chunk)) {
          if (item.type === 'command') {
            if (item.name !== 'READY') continue;
            if (readyProperties(item.body).get('socket-type') !== 'ROUTER') return done(new Error('the replay peer is not a ROUTER socket'));
            socket.write(message([EMPTY, seqBytes(start)]));
            continue;
          }
          const parts = item.parts[0]?.length === 0 ? item.parts.slice(1) : item.parts;
          const seq = readSeq(parts[0]);
          if (seq === undefined || parts.length !== 2) return done(new Error('a malformed replay message'));
          if (seq === END_SEQ) return done();
          if (got.length >= maxBatches) return done(new Error(`more than ${maxBatches} batches replayed`));
          got.push({ seq, payload: parts[1] as Buffer });
        }
      } catch (error) {
        done(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}
