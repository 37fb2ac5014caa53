/**
 * The limiter actor: one per deployment, holding every rate limit's sliding logs
 * (src/policy/limiter-state.ts). Reservations and settlements are handled one at a time, in arrival
 * order, so admissions from any number of gateways never overshoot a limit.
 */
import { assertNever } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { LimiterState } from '../../policy/limiter-state.js';
import { subjects } from '../../transport/subjects.js';
import type { Subscription, Transport } from '../../transport/transport.js';
import { spawn } from '../runtime/actor.js';
import { Overflow } from '../runtime/mailbox.js';
import { type LimiterReply, type LimiterRequest, parseLimiterRequest } from './limiter.protocol.js';
import type { LimiterMetricsHooks } from '../../observability/limiter-metrics.js';

/** `arrived`: performance.now() when the message came off NATS, for the reservation latency. */
type LimiterMessage = { type: 'request'; request: LimiterRequest; reply: string | undefined; arrived: number } | { type: 'sweep' };

export interface Limiter {
  readonly state: LimiterState;
  stop(): Promise<void>;
}

export async function startLimiter(options: { transport: Transport; log: Logger; now?: () => number; metrics?: LimiterMetricsHooks }): Promise<Limiter> {
  const { transport, log } = options;
  const now = options.now ?? Date.now;
  const state = new LimiterState();
  const actor = spawn<LimiterMessage>('limiter', () => ({
    receive(msg) {
      switch (msg.type) {
        case 'request': {
          const { request } = msg;
          if (request.type === 'reserve') {
            const result = state.reserve(request, now());
            if (msg.reply) transport.publish(msg.reply, { type: 'reserved', ...result } satisfies LimiterReply);
            options.metrics?.reserved(result, (performance.now() - msg.arrived) / 1000);
          } else {
            state.settle(request.id, request);
            options.metrics?.settled();
          }
          return;
        }
        case 'sweep':
          state.sweep(now());
          return;
        default:
          assertNever(msg);
      }
    },
  }), {
    mailbox: { capacity: 100_000, overflow: Overflow.reject },
    // Its state (the LimiterState) lives outside the behaviour, so a restart would rebuild nothing: resume.
    supervision: { type: 'resume' },
    onFailure: (error, failure) => log.error({ err: error, messageType: failure.messageType, failures: failure.failures }, 'limiter actor failed on a message; dropped it and resumed'),
  });
  const sub: Subscription = transport.subscribe(subjects.limiter, (m) => {
    const request = parseLimiterRequest(m.body);
    if (!request) return void log.warn({ subject: m.subject }, 'dropped a malformed limiter message');
    // A full mailbox drops the message: the gateway's reserve times out into its fail mode.
    if (!actor.tell({ type: 'request', request, reply: m.reply, arrived: performance.now() })) options.metrics?.dropped();
  });
  const sweep = setInterval(() => actor.tell({ type: 'sweep' }), 10_000);
  sweep.unref();
  await transport.flush();
  return {
    state,
    async stop() {
      clearInterval(sweep);
      sub.unsubscribe();
      await actor.stop();
    },
  };
}
