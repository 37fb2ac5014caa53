/**
 * A ServerResponse stand-in for tests of the request session: it records what the client would
 * read, and fails a test that writes after the end or ends twice.
 */
import type { ServerResponse } from 'node:http';
import { SampledWarning } from '../../observability/sampled-warning.js';
import { expect } from 'vitest';
import { GatewayMetrics } from '../../observability/gateway-metrics.js';
import { silentLogger } from '../../observability/logger.js';
import type { Transport } from '../../transport/transport.js';
import type { InferFrame } from '../worker/worker.protocol.js';
import { defaultSessionLimits, RequestSession, type SessionEnd } from './request-session.js';
import type { ValidatedRequest } from './request-schema.js';

export class FakeResponse {
  status: number | undefined;
  body = '';
  ended = false;
  destroyed = false;
  headersSent = false;
  writableLength = 0;
  writableNeedDrain = false;
  writeHead(status: number): this {
    this.status = status;
    this.headersSent = true;
    return this;
  }
  write(text: string): boolean {
    expect(this.ended, 'write after end').toBe(false);
    this.body += text;
    return true;
  }
  end(text?: string): void {
    expect(this.ended, 'ended twice').toBe(false);
    if (text) this.body += text;
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  setHeader(): void {}
}

/**
 * What a request session is wired to, as a test drives it: a transport that records dispatches to
 * routers, reply subjects it opens and closes (only live ones take frames), the ends it reports, and
 * the client's response.
 */
export function sessionWiring(): {
  dispatches: Array<{ request: InferFrame; reply: string }>;
  transport: Transport;
  replies: { open(): string; close(reply: string): void };
  live: Set<string>;
  ends: SessionEnd[];
  res: FakeResponse;
} {
  const dispatches: Array<{ request: InferFrame; reply: string }> = [];
  const transport = {
    publish(subject: string, body: unknown, options?: { reply?: string }) {
      if (subject.startsWith('llmux.route.') && options?.reply) dispatches.push({ request: body as InferFrame, reply: options.reply });
    },
  } as unknown as Transport;
  const live = new Set<string>();
  let next = 0;
  const replies = {
    open: (): string => {
      const r = `_INBOX.t.${next++}`;
      live.add(r);
      return r;
    },
    close: (r: string): void => void live.delete(r),
  };
  return { dispatches, transport, replies, live, ends: [], res: new FakeResponse() };
}

/** A session of request `r1` for `demo/m` on `wiring`, asking `request` (its operation, stream and body); not dispatched yet. */
export function testSession(wiring: ReturnType<typeof sessionWiring>, request: Pick<ValidatedRequest, 'operation' | 'stream' | 'body'>): RequestSession {
  const { transport, replies, ends, res } = wiring;
  return new RequestSession({
    transport, metrics: new GatewayMetrics({ defaultMetrics: false }), log: silentLogger(), limits: defaultSessionLimits, forgedFrames: new SampledWarning(silentLogger(), 'forged'),
    replies,
    requestId: 'r1', traceparent: '00-0-0-00', deadline: Date.now() + 600_000, functionId: 'demo', model: 'm', clientModel: 'demo/m',
    request: { ...request, model: 'demo/m', includeUsage: false },
    tokenizer: 'o200k', promptTokens: 3, routing: { tokens: 3 }, migrationAttempts: 3, debug: false, streamId: 'AAAAAAAAAAAAAAAAAAAAAA',
    onEnd: (e) => ends.push(e), res: res as unknown as ServerResponse, arrivedAt: process.hrtime.bigint(), onClose: () => undefined,
  });
}
