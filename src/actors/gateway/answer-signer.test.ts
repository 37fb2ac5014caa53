// Signed answers: a worker answers on its reply subject plus its own id, the one form its NATS
// identity may publish in, and the session takes a signed frame only from the worker holding the
// request. Unsigned frames come from routers (control identities) and are taken as before.
import { describe, expect, it } from 'vitest';
import { subjects } from '../../transport/subjects.js';
import type { Inbound } from '../../transport/transport.js';
import { inboxAddress, signedBy } from './answer-signer.js';
import type { ReplyFrame } from './reply.protocol.js';
import { sessionWiring, testSession } from './session-test-support.js';

/** A non-streamed chat session, dispatched; `deliver` hands it a frame as the gateway would, signed by `signer` or not. */
function dispatched() {
  const wiring = sessionWiring();
  const { dispatches, live, ends, res } = wiring;
  const session = testSession(wiring, { operation: 'chat', stream: false, body: { messages: [{ role: 'user', content: 'hi' }] } });
  session.dispatch();
  const deliver = (frame: ReplyFrame, signer?: string): void => {
    const reply = dispatches.at(-1)!.reply;
    if (!live.has(reply)) return;
    const subject = signer === undefined ? reply : subjects.workerAnswer(reply, signer);
    const { signer: segment } = inboxAddress(subject.slice('_INBOX.t.'.length));
    session.onMessage({ subject, reply: undefined, headers: {}, body: frame, noResponders: false, raw: new Uint8Array() } as Inbound, reply, segment);
  };
  return { session, deliver, dispatches, ends, res };
}

const text = (t: string): ReplyFrame => ({ type: 'chunk', seq: 0, deltas: [{ index: 0, role: 'assistant', text: t }] });
const end: ReplyFrame = { type: 'end', seq: 1, completionTokens: 1, usage: { promptTokens: 3, completionTokens: 1 } };

describe('signed answers', () => {
  it('reads the token and the signing worker off an inbox subject, and checks a signer against the worker a frame names', () => {
    expect(inboxAddress('7f3a')).toEqual({ token: '7f3a', signer: undefined });
    expect(inboxAddress(`7f3a.${subjects.workerAnswer('x', 'w.0 é').slice(2)}`)).toEqual({ token: '7f3a', signer: subjects.workerAnswer('x', 'w.0 é').slice(2) });
    expect(signedBy(undefined, 'w0'), 'unsigned: a control identity').toBe(true);
    expect(signedBy('w0', 'w0')).toBe(true);
    expect(signedBy('w1', 'w0')).toBe(false);
    // Ids are compared in their subject encoding: a dot in an id cannot make it another worker's.
    expect(signedBy(subjects.workerAnswer('x', 'w.0').slice(2), 'w.0')).toBe(true);
    expect(signedBy('w', 'w.0')).toBe(false);
  });

  it('takes the answer of the worker that accepted, and drops frames another worker signed into it', () => {
    const s = dispatched();
    s.deliver({ type: 'accepted', requestId: 'r1', workerId: 'w0' }, 'w0');
    s.deliver(text('forged by w1 '), 'w1');
    s.deliver(text('Hello'), 'w0');
    s.deliver({ ...end, usage: { promptTokens: 3, completionTokens: 999 } }, 'w1');
    s.deliver(end, 'w0');
    expect(s.res.status).toBe(200);
    expect(JSON.parse(s.res.body).choices[0].message.content).toBe('Hello');
    expect(s.ends[0]?.completionTokens).toBe(1);
  });

  it('drops an accepted frame signed by another worker than the one it names, and an unattributable frame before any accepted', () => {
    const s = dispatched();
    s.deliver({ type: 'accepted', requestId: 'r1', workerId: 'w0' }, 'w1');
    s.deliver(text('too early'), 'w1');
    s.deliver({ type: 'accepted', requestId: 'r1', workerId: 'w0' }, 'w0');
    s.deliver(text('Hi'), 'w0');
    s.deliver(end, 'w0');
    expect(JSON.parse(s.res.body).choices[0].message.content).toBe('Hi');
  });

  it('takes a draining worker\'s signed refusal before any accepted, and a router\'s unsigned error', () => {
    const s = dispatched();
    s.deliver({ type: 'error', seq: 0, workerId: 'w0', error: { code: 'no_active_backend', message: 'w0 is draining', retryable: true } } as ReplyFrame, 'w0');
    expect(s.dispatches, 'retried elsewhere, w0 excluded').toHaveLength(2);
    expect(s.dispatches[1]!.request.exclude).toContain('w0');
    s.deliver({ type: 'error', seq: 0, error: { code: 'no_eligible_candidates', message: 'none left', retryable: false } } as ReplyFrame);
    expect(s.res.status).toBeGreaterThanOrEqual(400);
  });
});
