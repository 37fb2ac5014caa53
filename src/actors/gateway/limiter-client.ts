/**
 * The gateway's side of the limiter: `reserve` as a request/reply over one inbox subscription (no
 * subscription per request), with a timeout; `settle` fire-and-forget. When the limiter does not
 * answer in time, the answer is `unavailable` and the gateway applies its fail mode.
 */
import { randomUUID } from 'node:crypto';
import type { ReserveInput, ReserveResult } from '../../policy/limiter-state.js';
import { subjects } from '../../transport/subjects.js';
import type { Subscription, Transport } from '../../transport/transport.js';
import { type LimiterRequest, parseLimiterReply } from '../limiter/limiter.protocol.js';

export type LimiterFailMode = 'open' | 'closed';

export class LimiterClient {
  readonly #inbox: string;
  readonly #pending = new Map<string, { resolve: (r: ReserveResult | 'unavailable') => void; timer: NodeJS.Timeout }>();
  readonly #sub: Subscription;

  constructor(readonly transport: Transport, readonly timeoutMs = 500) {
    this.#inbox = transport.newInboxPrefix();
    this.#sub = transport.subscribe(`${this.#inbox}.*`, (m) => {
      const token = m.subject.slice(this.#inbox.length + 1);
      const pending = this.#pending.get(token);
      if (!pending) return;
      this.#pending.delete(token);
      clearTimeout(pending.timer);
      const reply = m.noResponders ? undefined : parseLimiterReply(m.body);
      pending.resolve(reply ?? 'unavailable');
    });
  }

  reserve(input: ReserveInput): Promise<ReserveResult | 'unavailable'> {
    // Random, not a counter: a worker's identity may publish `<inbox>.<its id>` (subjects.workerAnswers), which is an answer's form here.
    const token = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(token);
        resolve('unavailable');
      }, this.timeoutMs);
      this.#pending.set(token, { resolve, timer });
      this.transport.publish(subjects.limiter, { type: 'reserve', ...input } satisfies LimiterRequest, { reply: `${this.#inbox}.${token}` });
    });
  }

  settle(id: string, promptTokens: number, completionTokens: number): void {
    this.transport.publish(subjects.limiter, { type: 'settle', id, promptTokens, completionTokens } satisfies LimiterRequest);
  }

  close(): void {
    this.#sub.unsubscribe();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.resolve('unavailable');
    }
    this.#pending.clear();
  }
}
