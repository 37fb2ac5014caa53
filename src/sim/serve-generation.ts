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
import type { Scheduler } from './scheduler.js';
import type { SimCounters } from './sim-metrics.js';
import type { SimRequest } from './sim-request.js';
import { DONE_EVENT, errorBody, type FinishReason, fullResponse, newGeneration, roleChunk, tokenChunk, usageChunk, usageOf } from './wire.js';

export interface GenerationContext {
  scheduler: Scheduler;
  counters: SimCounters;
  ttftMs: number;
  itlMs: number;
  defaultMaxTokens: number;
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

export async function serveGeneration(ctx: GenerationContext, request: SimRequest, model: string, res: ServerResponse): Promise<void> {
  const { fault } = request;
  if (fault.type === 'fail') {
    sendJson(res, 500, errorBody('simulated engine failure ([[sim:fail]])', 'InternalServerError', 500));
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
  const seed = seedOf(request.prompt.text);
  const g = newGeneration(request.operation, model, request.includeUsage);
  const signal = client.signal;
  let generated = 0;
  const cut = (): void => {
    client.stopWatching(); // the simulated engine crashed; the client did not leave
    res.destroy();
  };

  try {
    await pause(ctx.ttftMs, signal);
    ctx.counters.promptTokens += request.prompt.tokens;
    if (request.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      if (g.operation === 'chat') await write(res, roleChunk(g), signal);
      for (let i = 0; i < count; i++) {
        if (i > 0) await pause(ctx.itlMs, signal);
        if (i === cutAt) return cut();
        await write(res, tokenChunk(g, tokenAt(seed, i), i === count - 1 ? finish : null), signal);
        generated++;
        ctx.counters.generationTokens++;
      }
      if (g.includeUsage) await write(res, usageChunk(g, usageOf(request.prompt.tokens, generated)), signal);
      res.end(DONE_EVENT);
    } else {
      if (cutAt !== undefined) return cut();
      for (let i = 1; i < count; i++) await pause(ctx.itlMs, signal);
      ctx.counters.generationTokens += count;
      sendJson(res, 200, fullResponse(g, textOf(seed, count), finish, usageOf(request.prompt.tokens, count)));
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
