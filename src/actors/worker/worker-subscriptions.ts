/**
 * The worker's subscriptions: each inbound subject's frame is parsed (worker.protocol.ts) and told to
 * the actor's mailbox; a request the full mailbox refuses is turned back at once, retryable, and a
 * drain is confirmed to whoever asked for it.
 */
import { ErrorCode } from '../../errors.js';
import { stampHop } from '../../observability/hop-timing.js';
import { subjects } from '../../transport/subjects.js';
import type { Subscription, Transport } from '../../transport/transport.js';
import type { ReplyFrame } from '../gateway/reply.protocol.js';
import type { WorkerDescriptor } from '../router/registry.protocol.js';
import type { ActorRef } from '../runtime/actor.js';
import type { ReplyFrames } from './reply-frames.js';
import type { WorkerMessage } from './worker-message.js';
import { parseWorkerInbound } from './worker.protocol.js';

export interface WorkerSubscriptionsOptions {
  transport: Transport;
  descriptor: WorkerDescriptor;
  actor: ActorRef<WorkerMessage>;
  answer: ReplyFrames['answer'];
  /** Requests in flight now, for the `draining` answer. */
  inFlight: () => number;
}

export function subscribeWorker(options: WorkerSubscriptionsOptions): Subscription[] {
  const { transport, descriptor, actor, answer, inFlight } = options;
  return [
    transport.subscribe(subjects.workerInfer(descriptor.workerId), (m) => {
      if (m.headers.hops !== undefined) m.headers.hops = stampHop(m.headers.hops, 'w.in');
      const request = parseWorkerInbound(m.body);
      if (request?.type !== 'infer' || !m.reply) return;
      if (!actor.tell({ type: 'infer', request, reply: m.reply, headers: m.headers })) {
        answer(m.reply, { type: 'error', seq: 0, workerId: descriptor.workerId,
          error: { code: ErrorCode.noActiveBackend, message: 'worker overloaded', retryable: true } } satisfies ReplyFrame);
      }
    }),
    transport.subscribe(subjects.workerCancel(descriptor.workerId), (m) => {
      const cancel = parseWorkerInbound(m.body);
      if (cancel?.type === 'cancel') actor.tell({ type: 'cancel', reply: cancel.reply });
    }),
    transport.subscribe(subjects.workerFlow(descriptor.workerId), (m) => {
      const flow = parseWorkerInbound(m.body);
      if (flow?.type === 'flow') actor.tell({ type: 'flow', reply: flow.reply, paused: flow.paused });
    }),
    transport.subscribe(subjects.workerLease(descriptor.workerId), (m) => {
      const lease = parseWorkerInbound(m.body);
      if (lease?.type === 'lease') actor.tell({ type: 'lease', replies: lease.replies });
    }),
    transport.subscribe(subjects.workerDrain(descriptor.workerId), (m) => {
      if (parseWorkerInbound(m.body)?.type !== 'drain') return;
      actor.tell({ type: 'drain' });
      if (m.reply) answer(m.reply, { type: 'draining', workerId: descriptor.workerId, inFlight: inFlight() });
    }),
    transport.subscribe(subjects.discover(descriptor.cluster), () => actor.tell({ type: 'announce' })),
  ];
}
