// A stolen worker credential must not speak in another worker's answer. Workers answer on their
// request's reply subject plus their own id (subjects.workerAnswer), the only form their NATS
// identity may publish in, and the gateway takes a signed frame only from the worker holding the
// request. The worst case is tried here: the thief knows a live request's reply subject (taken by a
// control-identity tap; a real thief cannot subscribe to another worker's requests) and publishes
// text, an end with inflated usage and an error into it, signed the only way it can, as itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyFrame } from '../src/actors/gateway/reply.protocol.js';
import type { KeepaliveFrame } from '../src/actors/worker/keepalive.protocol.js';
import type { LocalStack } from '../src/launch/local-stack.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { subjects } from '../src/transport/subjects.js';
import type { Transport } from '../src/transport/transport.js';
import { startTestStack, testAdminKey, testApiKey } from './support/stack.js';

let stack: LocalStack;
let thief: Transport;
let tap: Transport;
const thiefId = 'worker-thief';

beforeAll(async () => {
  stack = await startTestStack({ workers: 1, heartbeatMs: 250, sim: { itlMs: 20 } });
  const { nkeySeed } = await stack.addWorkerIdentity(thiefId);
  thief = await connectNats({ servers: stack.natsUrl, name: thiefId, nkeySeed });
  tap = await connectNats({ servers: stack.natsUrl, name: 'test-tap', ...stack.natsCredentials });
});
afterAll(async () => {
  await thief?.close();
  await tap?.close();
  await stack?.stop();
});

/** A streamed chat request: resolves with the text and usage the client read. */
async function streamed(maxTokens: number): Promise<{ status: number; text: string; completionTokens: number | undefined }> {
  const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${testApiKey}` },
    body: JSON.stringify({ model: stack.models[0], max_tokens: maxTokens, stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Tell me about the sea.' }] }),
  });
  let text = '';
  let completionTokens: number | undefined;
  for (const line of (await res.text()).split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const event = JSON.parse(line.slice(6)) as { choices: Array<{ delta?: { content?: string } }>; usage?: { completion_tokens: number } };
    text += event.choices[0]?.delta?.content ?? '';
    if (event.usage) completionTokens = event.usage.completion_tokens;
  }
  return { status: res.status, text, completionTokens };
}

describe('answers - a worker credential speaks only in the answers of requests its worker holds', () => {
  it('drops text, an end and a keepalive another worker signed into a live request, even at the right frame numbers: the client gets the real answer', async () => {
    const victim = stack.workers[0]!.descriptor.workerId;
    /** Every dispatch to the victim (a retry or a migration is one more), and the victim's chunk numbers on the first one's reply. */
    const dispatches: string[] = [];
    const seqs: number[] = [];
    let forgedAt: number | undefined;
    tap.subscribe(subjects.workerInfer(victim), (m) => {
      if (!m.reply) return;
      dispatches.push(m.reply);
      if (dispatches.length > 1) return;
      const reply = m.reply;
      // The worst case: the thief sees each of the victim's frames, and forges the next two numbers at once.
      tap.subscribe(subjects.workerAnswer(reply, victim), (f) => {
        const frame = f.body as ReplyFrame;
        if (frame.type !== 'chunk') return;
        seqs.push(frame.seq);
        if (forgedAt !== undefined || seqs.length < 3) return;
        forgedAt = frame.seq + 1;
        thief.publish(subjects.workerAnswer(reply, thiefId), { type: 'chunk', seq: frame.seq + 1, deltas: [{ index: 0, text: ' FORGED-TEXT' }] } satisfies ReplyFrame);
        thief.publish(subjects.workerAnswer(reply, thiefId),
          { type: 'end', seq: frame.seq + 2, completionTokens: 9_999, usage: { promptTokens: 9_999, completionTokens: 9_999 } } satisfies ReplyFrame);
        // And a keepalive in the victim's name saying frames were lost (a chunk number far ahead): it would move the answer elsewhere.
        thief.publish(subjects.workerAnswer(reply, thiefId),
          { type: 'keepalive', workerId: victim, tokens: [reply.slice(reply.lastIndexOf('.') + 1)], seqs: [1_000] } satisfies KeepaliveFrame);
      });
    });
    await tap.flush();
    const answer = await streamed(60);
    expect(forgedAt, 'the thief forged frames while the answer was streaming').toBeDefined();
    expect(answer.status).toBe(200);
    expect(answer.text).not.toContain('FORGED');
    expect(answer.completionTokens).toBe(60);
    expect(dispatches, 'the forged frames did not even cost a migration').toHaveLength(1);
    expect(thief.refusals(), 'signed as itself, the thief may publish: only the gateway can refuse it').toEqual([]);
  });

  it('ignores an answer to the admin API\'s question to the routers that a worker signed: the worker table lists the real routers only', async () => {
    const questions: string[] = [];
    const sub = tap.subscribe(subjects.routerAdmin, (m) => {
      if (!m.reply) return;
      questions.push(m.reply);
      // Signed as itself (the only way it can publish into an inbox), a forged router with a forged worker.
      thief.publish(subjects.workerAnswer(m.reply, thiefId), { type: 'workers', routerId: 'forged-router', workers: [
        { descriptor: { workerId: 'forged-worker' }, lastSeenMsAgo: 0 },
      ] });
    });
    await tap.flush();
    const res = await fetch(`${stack.gatewayUrl}/admin/api/workers`, { headers: { authorization: `Bearer ${testAdminKey}` }, signal: AbortSignal.timeout(5_000) });
    sub.unsubscribe();
    expect(res.status).toBe(200);
    const body = JSON.stringify(await res.json());
    expect(questions.length, 'the thief answered the question').toBeGreaterThan(0);
    expect(body).not.toContain('forged');
    expect(body).toContain(stack.workerIds[0] as string);
  });

  it('ignores a drain acknowledgement signed by another worker than the one drained: draining a worker that is not there is a 404', async () => {
    const ghost = 'worker-ghost';
    let asked = 0;
    const sub = tap.subscribe(subjects.workerDrain(ghost), (m) => {
      if (!m.reply) return;
      asked++;
      thief.publish(subjects.workerAnswer(m.reply, thiefId), { type: 'draining', workerId: ghost, inFlight: 0 });
    });
    await tap.flush();
    const res = await fetch(`${stack.gatewayUrl}/admin/api/workers/${ghost}/drain`, { method: 'POST', headers: { authorization: `Bearer ${testAdminKey}` }, signal: AbortSignal.timeout(5_000) });
    sub.unsubscribe();
    expect(asked, 'the thief answered the drain').toBe(1);
    expect(res.status).toBe(404);
  });
});
