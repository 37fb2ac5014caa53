/**
 * The gateway actor and its reply inbox. One inbox subscription per gateway carries every session's
 * frames (each dispatch attempt has a reply token of its own), workers' keepalives included; the
 * actor owns the reply table, so frames, client disconnects and timeouts for one request are
 * handled one at a time, in order. An error in one session's handling ends that session, never the
 * actor. Every lease interval the gateway tells each worker which of its requests it still holds
 * (one message per worker).
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, assertNever } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { GatewayMetrics } from '../../observability/gateway-metrics.js';
import type { Inbound, Subscription, Transport } from '../../transport/transport.js';
import { spawn } from '../runtime/actor.js';
import { Overflow } from '../runtime/mailbox.js';
import type { ReplySubjects, RequestSession, SessionLimits } from './request-session.js';
import { subjects } from '../../transport/subjects.js';
import type { WorkerInbound } from '../worker/worker.protocol.js';
import { type KeepaliveFrame, parseKeepaliveFrame } from '../worker/keepalive.protocol.js';
import { inboxAddress, signedBy } from './answer-signer.js';
import { hopTimingOn, stampHop } from '../../observability/hop-timing.js';
import { SampledWarning } from '../../observability/sampled-warning.js';

export type GatewayMessage =
  | { type: 'open'; session: RequestSession }
  /** `signer`: the id segment of the worker that signed the frame's subject, none from a control identity (answer-signer.ts). */
  | { type: 'frame'; token: string; signer: string | undefined; message: Inbound }
  | { type: 'client-gone'; session: RequestSession }
  | { type: 'client-drain'; session: RequestSession }
  | { type: 'sweep' };

export interface GatewayActor {
  /** False when the mailbox is full: the gateway is overloaded. */
  tell(message: GatewayMessage): boolean;
  /** Reply subjects for one session: frames to a closed one are dropped. */
  repliesFor(session: () => RequestSession): ReplySubjects;
  /** Live sessions; a session leaves when it closes. */
  readonly sessions: Set<RequestSession>;
  /** Where sessions report frames signed by another worker than the one holding their request. */
  readonly forgedFrames: SampledWarning;
  /** No more timeout checks or lease renewals. */
  stopSweeps(): void;
  /** Stops taking frames, then stops the actor once its mailbox is done. */
  stop(): Promise<void>;
}

/** How often sessions are checked for silent workers: a fraction of the liveness timeout. */
const sweepEveryMs = 250;

export function startGatewayActor({ transport, metrics, log, limits }: { transport: Transport; metrics: GatewayMetrics; log: Logger; limits: SessionLimits }): GatewayActor {
  /** Live sessions, and the reply token of each session's current attempt. */
  const sessions = new Set<RequestSession>();
  const byReply = new Map<string, RequestSession>();
  const inbox = transport.newInboxPrefix();
  // Forged frames and keepalives come as fast as their sender likes: one line per signer per 10 s, with the count left out.
  const forgedFrames = new SampledWarning(log, 'dropped frames signed by another worker than the one holding the request');
  const forgedKeepalives = new SampledWarning(log, 'dropped keepalives signed by another worker than the one they name');
  let lastLease = 0;

  /** Reply subjects for one session: frames to a closed one are dropped. */
  const repliesFor = (session: () => RequestSession): ReplySubjects => ({
    open() {
      // Random, not a counter: a worker that saw this inbox must not guess another request's reply (answer-signer.ts).
      const token = randomUUID();
      byReply.set(token, session());
      return `${inbox}.${token}`;
    },
    close(reply) {
      byReply.delete(reply.slice(inbox.length + 1));
    },
  });

  /** One lease message per worker, naming the requests this gateway still holds on it. */
  const renewLeases = (): void => {
    const byWorker = new Map<string, string[]>();
    for (const s of sessions) {
      const held = s.held();
      if (!held) continue;
      const replies = byWorker.get(held.workerId) ?? [];
      replies.push(held.reply);
      byWorker.set(held.workerId, replies);
    }
    for (const [workerId, replies] of byWorker) {
      transport.publish(subjects.workerLease(workerId), { type: 'lease', replies } satisfies WorkerInbound);
    }
  };

  /**
   * A worker's keepalive, one frame for all the requests it holds for this gateway, arriving on one
   * of their reply subjects signed by its sender (answer-signer.ts): a frame signed by another worker
   * than the one it names lies about its sender. Each session checks that the named worker holds it.
   */
  const takeKeepalive = (signer: string | undefined, frame: KeepaliveFrame): void => {
    if (!signedBy(signer, frame.workerId)) {
      return void forgedKeepalives.warn(signer ?? '', { worker: frame.workerId, signer });
    }
    const now = Date.now();
    for (let i = 0; i < frame.tokens.length; i++) {
      const token = frame.tokens[i] as string;
      const session = byReply.get(token);
      if (session) guarded(session, 'a keepalive', () => session.keepalive(`${inbox}.${token}`, frame.workerId, frame.seqs[i] as number, now));
    }
  };

  /** Runs one session's handling; a throw ends that session with a 500, and the others go on. */
  const guarded = (session: RequestSession, what: string, run: () => void): void => {
    try {
      run();
    } catch (error) {
      log.error({ err: error, requestId: session.init.requestId }, `session failed in ${what}`);
      session.crashed({ code: ErrorCode.internalError, retryable: false, message: `the gateway failed handling this request (${what})` });
    }
  };

  const actor = spawn<GatewayMessage>('gateway', () => ({
    receive(msg) {
      switch (msg.type) {
        case 'open':
          sessions.add(msg.session);
          guarded(msg.session, 'dispatch', () => msg.session.dispatch());
          return;
        case 'frame': {
          const keepalive = parseKeepaliveFrame(msg.message.body);
          if (keepalive) return void takeKeepalive(msg.signer, keepalive);
          const session = byReply.get(msg.token);
          if (session) guarded(session, 'a worker frame', () => session.onMessage(msg.message, `${inbox}.${msg.token}`, msg.signer));
          return;
        }
        case 'client-gone':
          guarded(msg.session, 'a client disconnect', () => msg.session.clientGone());
          return;
        case 'client-drain':
          guarded(msg.session, 'a client catching up', () => msg.session.clientDrained());
          return;
        case 'sweep': {
          const now = Date.now();
          let buffered = 0;
          for (const s of sessions) {
            guarded(s, 'a timeout check', () => s.checkTimeout(now));
            buffered += s.buffered();
          }
          metrics.clientBuffered.set(buffered);
          if (now - lastLease >= limits.leaseIntervalMs) {
            lastLease = now;
            renewLeases();
          }
          return;
        }
        default:
          assertNever(msg);
      }
    },
  }), {
    mailbox: { capacity: 200_000, overflow: Overflow.reject },
    // Its state (sessions, byReply) lives outside the behaviour, so a restart would rebuild nothing: resume.
    supervision: { type: 'resume' },
    onFailure: (error, failure) => log.error({ err: error, messageType: failure.messageType, failures: failure.failures }, 'gateway actor failed on a message; dropped it and resumed'),
  });

  // `<inbox>.<token>` from routers, `<inbox>.<token>.<worker>` from workers (answer-signer.ts).
  const inboxSub: Subscription = transport.subscribe(`${inbox}.>`, (m) => {
    const { token, signer } = inboxAddress(m.subject.slice(inbox.length + 1));
    if (hopTimingOn && m.headers.hops) m.headers.hops = stampHop(m.headers.hops, 'g.frame');
    actor.tell({ type: 'frame', token, signer, message: m });
  });
  // Judged after the event loop's next read (setImmediate): after a stall of this process (GC, a
  // starved CPU) the timer fires before the frames waiting in the socket are read, and would take their workers for silent.
  const sweepTimer = setInterval(() => setImmediate(() => actor.tell({ type: 'sweep' })), sweepEveryMs);
  sweepTimer.unref();

  return {
    tell: (message) => actor.tell(message),
    repliesFor,
    sessions,
    forgedFrames,
    stopSweeps: () => clearInterval(sweepTimer),
    async stop() {
      inboxSub.unsubscribe();
      await actor.stop();
    },
  };
}
