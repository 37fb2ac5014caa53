// Streams that survive their worker: an engine that dies mid-answer, a worker that stops with
// streams in flight, a gateway that disappears. On a real nats-server with real HTTP; the process
// kills (SIGKILL, SIGSTOP of each role) are the chaos suite's (chaos/).
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { subjects } from '../src/transport/subjects.js';
import { openUsageStream, readUsageRecords } from '../src/ledger/usage-ledger.js';
import type { ReplyFrame } from '../src/actors/gateway/reply.protocol.js';
import type { InferRequest } from '../src/actors/worker/worker.protocol.js';
import { admin } from './support/routing.js';
import { startTestStack, testApiKey, waitFor } from './support/stack.js';

interface StreamResult {
  text: string;
  finishReason: string | null;
  usage: { prompt_tokens: number; completion_tokens: number } | undefined;
  errorEvent: string | undefined;
  done: boolean;
  worker: string | null;
}

/** Streams a chat answer, calling `onTokens` with the token count so far (and the debug header's worker) after each event. */
async function streamChat(stack: LocalStack, content: string, requestId: string, onTokens: (n: number, worker: string | null) => void = () => undefined, extra: Record<string, unknown> = {}): Promise<StreamResult> {
  const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json', 'x-llmux-debug': '1', 'x-request-id': requestId },
    body: JSON.stringify({ model: stack.models[0], stream: true, stream_options: { include_usage: true }, max_tokens: 60, messages: [{ role: 'user', content }], ...extra }),
  });
  expect(res.status).toBe(200);
  const result: StreamResult = { text: '', finishReason: null, usage: undefined, errorEvent: undefined, done: false, worker: res.headers.get('x-llmux-worker') };
  const decoder = new TextDecoder();
  let buffer = '';
  let tokens = 0;
  for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (event.split('\n').includes('event: error')) result.errorEvent = event;
      const data = event.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
      if (!data) continue;
      if (data === '[DONE]') {
        result.done = true;
        continue;
      }
      const chunk = JSON.parse(data) as { choices: Array<{ delta: { content?: string }; finish_reason: string | null }>; usage?: StreamResult['usage']; error?: unknown };
      if (chunk.usage) result.usage = chunk.usage;
      for (const c of chunk.choices ?? []) {
        if (c.delta.content) {
          result.text += c.delta.content;
          onTokens(++tokens, result.worker);
        }
        if (c.finish_reason) result.finishReason = c.finish_reason;
      }
    }
  }
  return result;
}

const workerIndex = (stack: LocalStack, workerId: string | null): number => stack.workers.findIndex((w) => w.descriptor.workerId === workerId);

describe('mid-stream migration', () => {
  let stack: LocalStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('carries a stream on when its engine dies mid-answer: the undisturbed text, exact usage, one ledger record, a decision per attempt', async () => {
    stack = await startTestStack({ workers: 2, heartbeatMs: 250, sim: { itlMs: 10 } });
    const s = stack;
    const prompt = `tell me about the river ${Date.now()}`;
    const undisturbed = await streamChat(s, prompt, 'undisturbed-1');
    expect(undisturbed.done).toBe(true);
    expect(undisturbed.text.split(' ')).toHaveLength(60);

    // The stream's first worker is named in its debug header; its engine is closed 12 tokens in.
    let killed: Promise<void> | undefined;
    const migrated = await streamChat(s, prompt, 'migrated-1', (n, worker) => {
      if (n === 12 && !killed) killed = s.sims[workerIndex(s, worker)]!.close();
    });
    expect(killed, 'the engine was killed mid-stream').toBeDefined();
    expect(migrated.errorEvent).toBeUndefined();
    expect(migrated.done).toBe(true);
    expect(migrated.text).toBe(undisturbed.text);
    expect(migrated.finishReason).toBe(undisturbed.finishReason);
    expect(migrated.usage).toEqual(undisturbed.usage);

    const { body } = await admin(s, 'GET', '/admin/api/decisions/migrated-1');
    const winners = (body.decisions as Array<{ attempt: number; winner?: string }>).sort((a, b) => a.attempt - b.attempt).map((d) => d.winner);
    expect(winners).toHaveLength(2);
    expect(winners[0]).not.toBe(winners[1]);

    await s.gateway.ledger?.flush(10_000);
    const transport = await connectNats({ servers: s.natsUrl, name: 'test-migration-ledger', ...s.natsCredentials });
    const records = (await readUsageRecords(await openUsageStream(transport))).filter((r) => r.requestId === 'migrated-1');
    await transport.close();
    expect(records).toHaveLength(1);
    expect(records[0]?.completionTokens).toBe(undisturbed.usage?.completion_tokens);
    expect(records[0]?.outcome).toBe('ok');
    const metrics = await (await fetch(`${s.gatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(/llmux_gateway_stream_migrations_total\{[^}]*\} 1/);
  });

  it('hands the streams of a worker stopping past its drain timeout to another worker, which completes them exactly', async () => {
    stack = await startTestStack({ workers: 2, heartbeatMs: 250, sim: { itlMs: 10 }, workerTimeouts: { drainTimeoutMs: 200 } });
    const s = stack;
    const prompt = `a long story ${Date.now()}`;
    const undisturbed = await streamChat(s, prompt, 'undisturbed-2');
    let stopping: Promise<void> | undefined;
    const migrated = await streamChat(s, prompt, 'migrated-2', (n) => {
      if (n === 5 && !stopping) stopping = s.workers.find((w) => w.inFlight() > 0)!.stop();
    });
    await stopping;
    expect(migrated.errorEvent).toBeUndefined();
    expect(migrated.text).toBe(undisturbed.text);
    expect(migrated.usage).toEqual(undisturbed.usage);
  });

  it('ends the stream with an SSE error event when migration is off for the model', async () => {
    stack = await startTestStack({ workers: 2, heartbeatMs: 250, sim: { itlMs: 5 }, llmConfig: { migration: { attempts: 0 } } });
    const cut = await streamChat(stack, 'cut me [[sim:cut-after:3]]', 'no-migration');
    expect(cut.text.split(' ')).toHaveLength(3);
    expect(cut.errorEvent).toMatch(/upstream_error/);
    expect(cut.done).toBe(false);
  });

  it('ends the stream with an SSE error event when no other worker can carry it on', async () => {
    stack = await startTestStack({ workers: 1, heartbeatMs: 250, sim: { itlMs: 5 } });
    const cut = await streamChat(stack, 'cut me [[sim:cut-after:4]]', 'nowhere-to-go');
    expect(cut.text.split(' ')).toHaveLength(4);
    expect(cut.errorEvent).toMatch(/upstream_error/);
    expect(cut.done).toBe(false);
  });

  it('keeps a request whose engine is silent in a long prefill: the worker\'s keepalives, not the engine\'s output, say it is alive', async () => {
    stack = await startTestStack({ workers: 2, heartbeatMs: 250, sim: { itlMs: 1 } });
    const slow = await streamChat(stack, 'think hard first [[sim:prefill-ms:3000]]', 'long-prefill');
    expect(slow.errorEvent).toBeUndefined();
    expect(slow.done).toBe(true);
    const { body } = await admin(stack, 'GET', '/admin/api/decisions/long-prefill');
    expect(body.decisions, 'one attempt: the 3 s of silence was not taken for a dead worker').toHaveLength(1);
    const metrics = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(/llmux_gateway_worker_silent_total 0/);
  });

  it('aborts the engine request of a gateway that stopped leasing it, within 3 s, and counts it', async () => {
    stack = await startTestStack({ workers: 1, heartbeatMs: 250, sim: { itlMs: 10 } });
    // A stand-in gateway on real NATS: it dispatches, reads the frames, and never sends a lease.
    const transport = await connectNats({ servers: stack.natsUrl, name: 'test-dead-gateway', ...stack.natsCredentials });
    try {
      const inbox = transport.newInboxPrefix();
      const frames: ReplyFrame[] = [];
      transport.subscribe(`${inbox}.>`, (m) => frames.push(m.body as ReplyFrame));
      const request: InferRequest = {
        type: 'infer', requestId: 'orphan-1', functionId: 'demo', model: 'llmux-sim-8b', operation: 'chat', stream: true,
        body: { max_tokens: 2000, messages: [{ role: 'user', content: 'a very long answer' }] }, exclude: [], tokenizer: 'o200k', promptTokens: 10,
        routing: { tokens: 2010, attempt: 1 },
      };
      transport.publish(subjects.route('demo'), request, { reply: `${inbox}.1` });
      const worker = stack.workers[0]!;
      await waitFor(() => frames.some((f) => f.type === 'chunk'), 5_000);
      const acceptedAt = Date.now();
      const abortedAfter = await waitFor(() => frames.some((f) => f.type === 'cancelled'), 5_000);
      expect(Date.now() - acceptedAt).toBeLessThanOrEqual(3_500);
      expect(abortedAfter).toBeGreaterThan(1_000); // not before the lease could lapse
      expect(worker.stats().orphanedAborts).toBe(1);
      await waitFor(() => worker.inFlight() === 0, 2_000);
    } finally {
      await transport.close();
    }
  });
});
