/**
 * One generation request from slot to last byte: wait for a batch slot, wait out the time to first
 * token, then write the answer (SSE chunks or one JSON body), pacing tokens by the inter-token
 * latency. Every wait also watches the client: if it goes away, queued or generating, the request
 * stops at once, frees its slot and is counted as aborted.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { seedOf, textOf, tokenAt } from './generation.js';
import type { PrefixCache } from './prefix-cache.js';
import type { Scheduler } from './scheduler.js';
import type { SimCounters } from './sim-metrics.js';
import type { SimRequest } from './sim-request.js';
import type { Dialect } from './dialect.js';
import { type FinishReason, newGeneration, usageOf } from './wire.js';

export interface GenerationContext {
  scheduler: Scheduler;
  counters: SimCounters;
  ttftMs: number;
  itlMs: number;
  defaultMaxTokens: number;
  prefixCache: PrefixCache;
  /** TTFT of a fully cached prompt as a share of ttftMs: prefill is skipped for the cached part. */
  cachedTtftFraction: number;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * An abort signal for "the client went away before the answer was complete". `res` emits 'close'
 * on every outcome; only an unfinished response means the client left.
 */
function watchClient(res: ServerResponse): { signal: AbortSignal; stopWatching: () => void } {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) controller.abort();
  };
  if (res.destroyed) controller.abort();
  else res.on('close', onClose);
  return { signal: controller.signal, stopWatching: () => res.off('close', onClose) };
}

/** Waits `ms`, or one event-loop turn when 0, so that a client disconnect is noticed between tokens. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms > 0) return sleep(ms, undefined, { signal });
  await new Promise((resolve) => setImmediate(resolve));
  signal.throwIfAborted();
}

/** Writes, and waits for the client to drain when it reads slower than tokens are made. */
async function write(res: ServerResponse, data: string, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (!res.write(data)) await once(res, 'drain', { signal });
}

export async function serveGeneration(ctx: GenerationContext, dialect: Dialect, request: SimRequest, model: string, res: ServerResponse): Promise<void> {
  const { fault } = request;
  if (fault.type === 'fail') {
    const { status, body } = dialect.failure('simulated engine failure ([[sim:fail]])');
    sendJson(res, status, body);
    return;
  }
  const client = watchClient(res);
  const release = await ctx.scheduler.acquire(client.signal);
  if (!release) {
    ctx.counters.aborted++;
    ctx.counters.finished.abort++;
    return;
  }

  const count = request.maxTokens ?? ctx.defaultMaxTokens;
  // A client limit is what ends the answer when given; otherwise the simulated end of sequence does.
  const finish: FinishReason = request.maxTokens !== undefined ? 'length' : 'stop';
  const cutAt = fault.type === 'cut-after' && fault.tokens < count ? fault.tokens : undefined;
  const errorAt = fault.type === 'error-after' && fault.tokens < count ? fault.tokens : undefined;
  const seed = seedOf(request.prompt.text);
  const g = newGeneration(request.operation, model, request.includeUsage, request.details);
  const signal = client.signal;
  let generated = 0;
  const cut = (): void => {
    client.stopWatching(); // the simulated engine crashed; the client did not leave
    res.destroy();
  };

  // Looked up once the request runs, as an engine's scheduler does; the cached share skips prefill.
  const cached = ctx.prefixCache.admit(request.prompt.text);
  ctx.counters.prefixCacheQueries += request.prompt.tokens;
  ctx.counters.prefixCacheHits += Math.round(request.prompt.tokens * cached.cachedShare);
  try {
    await pause(ctx.ttftMs * (1 - (1 - ctx.cachedTtftFraction) * cached.cachedShare), signal);
    ctx.counters.promptTokens += request.prompt.tokens;
    if (request.stream) {
      res.writeHead(200, { 'content-type': dialect.streamType, 'cache-control': 'no-cache' });
      const head = dialect.head(g, request.prompt.tokens);
      if (head) await write(res, head, signal);
      let soFar = '';
      for (let i = 0; i < count; i++) {
        if (i > 0) await pause(ctx.itlMs, signal);
        if (i === cutAt) return cut();
        if (i === errorAt) return void res.end(dialect.streamError(`simulated engine failure after ${i} tokens ([[sim:error-after]])`));
        const text = tokenAt(seed, i);
        soFar += text;
        generated++;
        await write(res, dialect.token(g, text, i, i === count - 1 ? finish : null, soFar, usageOf(request.prompt.tokens, generated)), signal);
        ctx.counters.generationTokens++;
      }
      res.end(dialect.tail(g, finish, usageOf(request.prompt.tokens, generated), soFar));
    } else {
      if (cutAt !== undefined) return cut();
      for (let i = 1; i < count; i++) await pause(ctx.itlMs, signal);
      ctx.counters.generationTokens += count;
      sendJson(res, 200, dialect.whole(g, textOf(seed, count), finish, usageOf(request.prompt.tokens, count)));
    }
    ctx.counters.finished[finish]++;
  } catch (error) {
    if (!signal.aborted) throw error;
    ctx.counters.aborted++;
    ctx.counters.finished.abort++;
  } finally {
    client.stopWatching();
    release();
  }
}
