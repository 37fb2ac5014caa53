/**
 * When the simulator's tokens come: the one question serve-generation.ts asks, answered two ways.
 *   fixed   (the default, and what the simulator always did) a batch of `maxConcurrency` slots, a
 *           time to first token shortened by the share of the prompt found in the character-block
 *           prefix cache (prefix-cache.ts), then a fixed inter-token latency;
 *   engine  the stepped engine (engine.ts): KV blocks, chunked prefill, batch-dependent decode,
 *           preemption, and vLLM's KV events.
 * Either way a request asks for a Pacing and awaits `next()` once per token, the first included, and
 * closes it when it is done or the client has gone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type EngineModel, PromptTooLongError, SimEngine } from './engine.js';
import { seedOf } from './generation.js';
import type { PrefixCache } from './prefix-cache.js';
import type { SimPrompt } from './prompt.js';
import type { Scheduler } from './scheduler.js';
import type { SimCounters, SimGauges } from './sim-metrics.js';
import { SimBadRequest } from './sim-request.js';
import { outputTokenId, promptTokenIds } from './token-ids.js';

export interface Pacing {
  /** Resolves when the next token exists; rejects with the signal's reason when the client leaves. */
  next(signal: AbortSignal): Promise<void>;
  close(): void;
}

export interface PacingRequest {
  prompt: SimPrompt;
  /** Answer tokens already given (a continuation): generation starts at this index. */
  start: number;
  /** Tokens this request will ask next() for, at most. */
  count: number;
  /** Extra time before the first token ([[sim:prefill-ms:N]]). */
  prefillMs: number;
}

export interface Timing {
  /** A pacing, or undefined when the client left while the request waited for a slot. */
  start(request: PacingRequest, signal: AbortSignal): Promise<Pacing | undefined>;
  gauges(): SimGauges;
}

/** Waits `ms`, or one event-loop turn when 0, so that a client disconnect is noticed between tokens. */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms > 0) return sleep(ms, undefined, { signal });
  await new Promise((resolve) => setImmediate(resolve));
  signal.throwIfAborted();
}

export function fixedTiming(options: { scheduler: Scheduler; prefixCache: PrefixCache; counters: SimCounters; ttftMs: number; itlMs: number; cachedTtftFraction: number }): Timing {
  const { scheduler, prefixCache, counters } = options;
  return {
    async start(request, signal) {
      const release = await scheduler.acquire(signal);
      if (!release) return undefined;
      // Looked up once the request runs, as an engine's scheduler does; the cached share skips prefill.
      const { prompt } = request;
      const cached = prefixCache.admit(prompt.text);
      counters.prefixCacheQueries += prompt.tokens;
      counters.prefixCacheHits += Math.round(prompt.tokens * cached.cachedShare);
      let first = true;
      return {
        next(s) {
          if (!first) return pause(options.itlMs, s);
          first = false;
          return pause(options.ttftMs * (1 - (1 - options.cachedTtftFraction) * cached.cachedShare) + request.prefillMs, s);
        },
        close: release,
      };
    },
    gauges: () => ({ running: scheduler.running, waiting: scheduler.waiting, kvCacheUsage: scheduler.running / scheduler.capacity }),
  };
}

export function engineTiming(engine: SimEngine): Timing {
  return {
    start(request) {
      const { prompt } = request;
      const seed = seedOf(prompt.text);
      let run;
      try {
        run = engine.submit(promptTokenIds(prompt), request.count, (i) => outputTokenId(seed, request.start + i));
      } catch (error) {
        if (error instanceof PromptTooLongError) throw new SimBadRequest(error.message);
        throw error;
      }
      let first = true;
      return Promise.resolve({
        async next(signal) {
          await run.next(signal);
          if (first && request.prefillMs > 0) await pause(request.prefillMs, signal);
          first = false;
        },
        close: () => run.close(),
      });
    },
    gauges: () => ({
      running: engine.running,
      waiting: engine.waiting,
      kvCacheUsage: engine.kv.usage,
      cacheConfig: { blockSize: engine.model.blockSize, numGpuBlocks: engine.model.kvBlocks },
    }),
  };
}

export type { EngineModel };
