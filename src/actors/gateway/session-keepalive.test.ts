// The request session and the worker's keepalive (one frame naming many requests): it keeps the
// session alive past the liveness timeout only when it comes from the worker holding the request,
// and a chunk number beyond what arrived still means frames were lost.
import { describe, expect, it } from 'vitest';
import type { Inbound } from '../../transport/transport.js';
import type { ReplyFrame } from './reply.protocol.js';
import { defaultSessionLimits } from './request-session.js';
import { sessionWiring, testSession } from './session-test-support.js';

const { livenessTimeoutMs } = defaultSessionLimits;

/** A streamed chat session whose first dispatch worker `w0` accepted and answered one chunk. */
function accepted() {
  const wiring = sessionWiring();
  const { dispatches, live } = wiring;
  const session = testSession(wiring, { operation: 'chat', stream: true, body: { messages: [{ role: 'user', content: 'hi' }] } });
  session.dispatch();
  const { reply } = dispatches[0]!;
  const deliver = (frame: ReplyFrame): void => {
    if (live.has(reply)) session.onMessage({ subject: reply, reply: undefined, headers: {}, body: frame, noResponders: false, raw: new Uint8Array() } as Inbound);
  };
  deliver({ type: 'accepted', requestId: 'r1', workerId: 'w0' });
  deliver({ type: 'chunk', seq: 0, deltas: [{ index: 0, role: 'assistant', text: 'Hello' }] });
  return { session, reply, dispatches, start: Date.now() };
}

describe('request session - worker keepalive', () => {
  it('a session its worker names in keepalives stays past the liveness timeout; without them it moves on', () => {
    const kept = accepted();
    for (let t = 400; t <= 3 * livenessTimeoutMs; t += 400) {
      kept.session.keepalive(kept.reply, 'w0', 1, kept.start + t);
      kept.session.checkTimeout(kept.start + t + 100);
    }
    expect(kept.dispatches).toHaveLength(1);

    const silent = accepted();
    silent.session.checkTimeout(silent.start + livenessTimeoutMs + 100);
    expect(silent.dispatches, 'silent past the timeout: carried on elsewhere').toHaveLength(2);
  });

  it('a keepalive from another worker, or for another reply, does not keep the session', () => {
    const other = accepted();
    other.session.keepalive(other.reply, 'w1', 1, other.start + livenessTimeoutMs);
    other.session.checkTimeout(other.start + livenessTimeoutMs + 100);
    expect(other.dispatches).toHaveLength(2);

    const elsewhere = accepted();
    elsewhere.session.keepalive(`${elsewhere.reply}0`, 'w0', 1, elsewhere.start + livenessTimeoutMs);
    elsewhere.session.checkTimeout(elsewhere.start + livenessTimeoutMs + 100);
    expect(elsewhere.dispatches).toHaveLength(2);
  });

  it('a keepalive naming a chunk number beyond what arrived means frames were lost: the answer moves on at once', () => {
    const lost = accepted();
    lost.session.keepalive(lost.reply, 'w0', 2, lost.start + 10);
    expect(lost.dispatches).toHaveLength(2);
    expect(lost.dispatches[1]!.request.continuation).toBeDefined();
  });
});
