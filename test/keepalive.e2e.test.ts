// Liveness per worker, not per request, through a real nats-server: a worker holding many silent
// requests for one gateway says they are alive in one frame per keepalive interval (at 10,000 slow
// streams one frame per request was ~25,000 messages a second into the gateway, which then fell
// behind and took busy workers for dead); the frame still carries each request's next chunk number,
// and a gateway session is kept alive by it only while it names the session's request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentEngine } from './support/silent-engine.js';
import { parseReplyFrame } from '../src/actors/gateway/reply.protocol.js';
import { parseKeepaliveFrame } from '../src/actors/worker/keepalive.protocol.js';
import { workerDescriptor } from '../src/actors/router/router-test-support.js';
import { startWorker, type Worker } from '../src/actors/worker/worker.js';
import type { InferRequest } from '../src/actors/worker/worker.protocol.js';
import { silentLogger } from '../src/observability/logger.js';
import { createTokenCounter } from '../src/tokenize/index.js';
import { type NatsServerHandle, startNatsServer } from '../src/transport/nats/nats-server-process.js';
import { connectNats, type NatsTransport } from '../src/transport/nats/nats-transport.js';
import { subjects } from '../src/transport/subjects.js';
import { waitFor } from './support/stack.js';

const tokens = createTokenCounter();
let nats: NatsServerHandle;
let workerSide: NatsTransport;
let gatewaySide: NatsTransport;
let worker: Worker;
const release: Array<() => void> = [];

const engine = silentEngine((r) => release.push(r));

beforeAll(async () => {
  nats = await startNatsServer();
  workerSide = await connectNats({ servers: nats.url, name: 'worker' });
  gatewaySide = await connectNats({ servers: nats.url, name: 'gateway' });
  worker = await startWorker({ transport: workerSide, engine, tokens, log: silentLogger(), keepaliveMs: 40, leaseTimeoutMs: 60_000,
    descriptor: workerDescriptor('w-keepalive', { engineKind: 'silent', capacity: 500, heartbeatMs: 1_000 }) });
});

afterAll(async () => {
  for (const r of release.splice(0)) r();
  await waitFor(() => worker.inFlight() === 0, 5_000).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 50)); // the load event a finish sends at the turn's end
  await worker?.stop().catch(() => undefined);
  await workerSide?.close();
  await gatewaySide?.close();
  await nats?.stop();
  await tokens.close();
});

const held = 200;

describe('worker keepalive', () => {
  it('names every silent request of one gateway in one frame per interval, not one frame per request', async () => {
    const inbox = gatewaySide.newInboxPrefix();
    /** Liveness messages (keepalive or per-request alive frames), and how often each request was said to be alive. */
    let livenessMessages = 0;
    const named = new Map<string, number>();
    const seqs: number[] = [];
    const senders = new Set<string>();
    const signers = new Set<string>();
    gatewaySide.subscribe(`${inbox}.>`, (m) => {
      const keepalive = parseKeepaliveFrame(m.body);
      if (keepalive) {
        livenessMessages++;
        // Signed, like every answer: on one of the named requests' reply subjects plus the worker's id.
        signers.add(m.subject.slice(m.subject.lastIndexOf('.') + 1));
        senders.add(keepalive.workerId);
        keepalive.tokens.forEach((t, i) => {
          named.set(t, (named.get(t) ?? 0) + 1);
          seqs.push(keepalive.seqs[i] as number);
        });
        return;
      }
      const frame = parseReplyFrame(m.body);
      if (frame?.type === 'alive') {
        livenessMessages++;
        const token = m.subject.slice(inbox.length + 1).split('.')[0] as string;
        named.set(token, (named.get(token) ?? 0) + 1);
        seqs.push(frame.seq);
      }
    });
    await gatewaySide.flush();
    for (let i = 0; i < held; i++) {
      const request: InferRequest = {
        type: 'infer', requestId: `r-${i}`, functionId: 'fn', model: 'm', operation: 'chat', stream: true,
        body: { messages: [] }, exclude: [], tokenizer: 'o200k', promptTokens: 5, routing: { tokens: 10, attempt: 1 },
      };
      gatewaySide.publish(subjects.workerInfer('w-keepalive'), request, { reply: `${inbox}.${i}` });
    }
    await waitFor(() => worker.inFlight() === held, 5_000);
    // Every request said alive three times over: one frame per request would be 3 × 200 messages.
    await waitFor(() => named.size === held && [...named.values()].every((n) => n >= 3), 10_000);
    expect(livenessMessages).toBeLessThan(held);
    // Nothing was sent yet: each names chunk #0 next.
    expect(new Set(seqs)).toEqual(new Set([0]));
    expect([...senders]).toEqual(['w-keepalive']);
    expect([...signers]).toEqual(['w-keepalive']);
  });
});
