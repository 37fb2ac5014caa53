/**
 * One request the worker holds, from its `infer` until the actor takes its `finished`: the engine
 * request's abort controller, the times the liveness checks judge it by (keepalive-tick.ts), and
 * the frames waiting to go to its gateway (reply-frames.ts).
 */
import type { Delta } from '../../engine-adapters/adapter.js';
import type { ReplyFrame } from '../gateway/reply.protocol.js';

/** How a request ended, for the routers' circuit breakers: `failed` is the engine's fault, never the client's. */
export type Outcome = 'ok' | 'failed' | 'cancelled';

/** Why the worker aborted an engine request. */
export type AbortReason = 'cancel' | 'orphaned' | 'shutdown' | 'stalled';

/** One request the worker holds. */
export interface Held {
  controller: AbortController;
  /** When a frame last went to the gateway (a keepalive naming it is due a keepalive interval later). */
  lastSent: number;
  /** When the gateway last said it holds the request (accept time until its first lease). */
  lastLease: number;
  /** The next chunk's sequence number. */
  seq: number;
  /** Streamed deltas waiting for the end of the event-loop turn, to go out as one `chunk` (turn-batch.ts). */
  streamed: Delta[];
  /** Set while the gateway's client is not reading: resolving it lets the engine read go on. */
  paused: { resume: () => void; done: Promise<void> } | undefined;
  /** The `accepted` frame while it waits to share a flush with the answer's first frame (`acceptHoldMs`). */
  accepted?: ReplyFrame;
  acceptTimer?: NodeJS.Timeout;
  /** Prompt tokens its router expected the engine to prefill (the `prefillTokens` header), until the first output: then 0. */
  prefill: number;
}

/**
 * A pause that ends when the client reads again (`resume`) or the request is aborted. Resuming
 * takes its abort listener off the request's signal: a client that pauses and resumes all through a
 * long answer would otherwise leave one listener per pause on it until the request ends.
 */
export const pausedFlow = (signal: AbortSignal): NonNullable<Held['paused']> => {
  let resume = (): void => undefined;
  const done = new Promise<void>((resolve) => {
    const aborted = (): void => resolve();
    signal.addEventListener('abort', aborted, { once: true });
    resume = () => {
      signal.removeEventListener('abort', aborted);
      resolve();
    };
  });
  return { resume, done };
};
