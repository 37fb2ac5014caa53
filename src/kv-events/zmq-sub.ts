/**
 * A ZeroMQ SUB socket over TCP in plain TypeScript (ZMTP 3.0, NULL mechanism: zmtp.ts): connects to
 * a publisher, subscribes to a topic prefix, hands every multipart message to `onMessage`, and
 * reconnects with a capped backoff when the connection drops, as libzmq does. What a PUB socket sends
 * while nobody is connected is lost (that is PUB/SUB); the caller sees it as a gap in the sequence
 * numbers the publisher puts in its messages.
 *
 * A peer that breaks the protocol (bad greeting, oversized frame, not a PUB socket) is disconnected
 * and counted in `protocolErrors`; nothing it sends can throw out of this module.
 */
import { connect, type Socket } from 'node:net';
import { command, greeting, message, ready, readyProperties, ZmtpError, ZmtpReader } from './zmtp.js';

export interface ZmqSubscriberOptions {
  /** `tcp://host:port`. */
  endpoint: string;
  /** Topic prefix; '' (the default) receives everything. */
  topic?: string;
  onMessage: (parts: Buffer[]) => void;
  /** Told of each (re)connection and loss, e.g. to log it. */
  onState?: (state: 'connected' | 'disconnected', detail?: string) => void;
  /** Largest message accepted. Default 16 MiB. */
  maxMessageBytes?: number;
  /** First reconnect delay, doubled up to `reconnectMaxMs`. Defaults 100 ms and 5 s. */
  reconnectMs?: number;
  reconnectMaxMs?: number;
}

export interface ZmqSubscriber {
  readonly connected: boolean;
  /** Peers dropped for breaking the protocol. */
  readonly protocolErrors: number;
  close(): void;
}

export function parseTcpEndpoint(endpoint: string): { host: string; port: number } {
  const match = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(endpoint);
  const port = Number(match?.[2]);
  if (!match || !(port > 0 && port < 65536)) throw new Error(`a ZeroMQ endpoint must be tcp://host:port, got ${JSON.stringify(endpoint)}`);
  const host = (match[1] as string).replace(/^\[|\]$/g, '');
  return { host: host === '*' ? '127.0.0.1' : host, port };
}

export function subscribe(options: ZmqSubscriberOptions): ZmqSubscriber {
  const { host, port } = parseTcpEndpoint(options.endpoint);
  const topic = Buffer.from(options.topic ?? '', 'utf8');
  const maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024;
  const firstDelay = options.reconnectMs ?? 100;
  const maxDelay = options.reconnectMaxMs ?? 5000;
  let delay = firstDelay;
  let socket: Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let connected = false;
  let protocolErrors = 0;

  const open = (): void => {
    timer = undefined;
    if (closed) return;
    const reader = new ZmtpReader(maxMessageBytes);
    let peerReady = false;
    const s = connect({ host, port });
    socket = s;
    s.setNoDelay(true);
    const fail = (reason: string): void => {
      protocolErrors++;
      connected = false;
      options.onState?.('disconnected', reason);
      s.destroy();
    };
    s.on('connect', () => {
      s.write(greeting());
      s.write(ready('SUB'));
    });
    s.on('data', (chunk: Buffer) => {
      let inbound;
      try {
        inbound = reader.push(chunk);
      } catch (error) {
        return fail(error instanceof ZmtpError ? error.message : String(error));
      }
      for (const item of inbound) {
        if (item.type === 'command') {
          if (item.name === 'READY') {
            let type: string | undefined;
            try {
              type = readyProperties(item.body).get('socket-type');
            } catch (error) {
              return fail(error instanceof Error ? error.message : String(error));
            }
            if (type !== 'PUB' && type !== 'XPUB') return fail(`the peer is a ${type ?? 'typeless'} socket, not a publisher`);
            peerReady = true;
            connected = true;
            delay = firstDelay;
            // ZMTP 3.0 subscription: a message whose first byte is 1, then the prefix.
            s.write(message([Buffer.concat([Buffer.from([1]), topic])]));
            options.onState?.('connected');
          } else if (item.name === 'PING') {
            // PING carries a TTL (2 bytes) and a context the PONG echoes.
            s.write(command('PONG', item.body.subarray(2)));
          } else if (item.name === 'ERROR') {
            return fail(`the peer sent ERROR ${item.body.toString('latin1', 1)}`);
          }
          continue;
        }
        if (!peerReady) return fail('a message before READY');
        options.onMessage(item.parts);
      }
    });
    s.on('error', () => {}); // 'close' follows; the reconnect handles it
    s.on('close', () => {
      if (socket === s) socket = undefined;
      if (connected) options.onState?.('disconnected', 'connection closed');
      connected = false;
      if (closed) return;
      timer = setTimeout(open, delay);
      delay = Math.min(maxDelay, delay * 2);
    });
  };
  open();

  return {
    get connected() {
      return connected;
    },
    get protocolErrors() {
      return protocolErrors;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      socket?.destroy();
    },
  };
}
