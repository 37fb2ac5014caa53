/**
 * One generation request from slot to last byte: wait for a batch slot, wait out the time to first
 * token, then write the answer (SSE chunks or one JSON body), pacing tokens by the inter-token
 * latency. Every wait also watches the client: if it goes away, queued or generating, the request
 * stops at once, frees its slot and is counted as aborted.
 *
 * A continuation (continuation.ts) generates tokens k, k+1, … of the answer to the original prompt
 * and ends where the undisturbed answer would have, with the same finish reason: its max_tokens is
 * the remaining budget, and the default length counts the k tokens it was given. Fault positions
 * count over the whole answer (faults.ts).
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fault } from './faults.js';
import { seedOf, textBetween, tokenAt } from './generation.js';
import type { PrefixCache } from './prefix-cache.js';
import type { Scheduler } from './scheduler.js';
import type { SimCounters } from './sim-metrics.js';
import type { SimRequest } from './sim-request.js';
import type { Dialect } from './dialect.js';
import { toolCallTokens } from './tool-calls.js';
import { type FinishReason, type Generation, newGeneration, usageOf } from './wire.js';

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

/** Waits until the client goes away: a hung engine. */
function stall(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * Where the answer's tokens `start` … `end` − 1 meet a positioned fault of `type`. A continuation
 * (`resumed`) does not meet again the fault at its own first position: the engine before it did.
 */
function faultAt(fault: Fault, type: 'cut-after' | 'error-after' | 'stall-after', start: number, end: number, resumed: boolean): number | undefined {
  if (fault.type !== type || fault.tokens >= end) return undefined;
  return fault.tokens > start || (fault.tokens === start && !resumed) ? fault.tokens : undefined;
}

/** Writes, and waits for the client to drain when it reads slower than tokens are made. */
async function write(res: ServerResponse, data: string, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (!res.write(data)) await once(res, 'drain', { signal });
}

/** An answer of tool calls (tool-calls.ts), paced a token apart as text is; faults do not apply to it. */
async function serveToolCalls(ctx: GenerationContext, tools: NonNullable<Dialect['tools']>, dialect: Dialect, g: Generation, request: SimRequest,
  res: ServerResponse, signal: AbortSignal): Promise<void> {
  const calls = request.toolCalls;
  const tokens = calls.reduce((n, c) => n + toolCallTokens(c), 0);
  const usage = usageOf(request.prompt.tokens, tokens);
  if (request.stream) {
    res.writeHead(200, { 'content-type': dialect.streamType, 'cache-control': 'no-cache' });
    const head = dialect.head(g, request.prompt.tokens);
    if (head) await write(res, head, signal);
    for (const [i, event] of tools.events(g, calls).entries()) {
      if (i > 0) await pause(ctx.itlMs, signal);
      await write(res, event, signal);
    }
    res.end(tools.tail(g, usage));
  } else {
    for (let i = 1; i < tokens; i++) await pause(ctx.itlMs, signal);
    sendJson(res, 200, tools.whole(g, calls, usage));
  }
  ctx.counters.generationTokens += tokens;
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

  const { prompt } = request;
  const resumed = prompt.continues !== undefined;
  const start = prompt.continues?.tokens ?? 0;
  // A client limit is what ends the answer when given; otherwise the simulated end of sequence does,
  // at the default length of the whole answer (a continuation still gets a token, as an engine would).
  const end = request.maxTokens !== undefined ? start + request.maxTokens : Math.max(ctx.defaultMaxTokens, start + 1);
  const count = end - start;
  const finish: FinishReason = request.maxTokens !== undefined ? 'length' : 'stop';
  const cutAt = faultAt(fault, 'cut-after', start, end, resumed);
  const errorAt = faultAt(fault, 'error-after', start, end, resumed);
  const stallAt = faultAt(fault, 'stall-after', start, end, resumed);
  const seed = seedOf(prompt.text);
  const tools = request.toolCalls.length > 0 ? dialect.tools : undefined;
  const g = newGeneration(request.operation, model, request.includeUsage, request.details, tools !== undefined, request.logprobs);
  const signal = client.signal;
  let generated = 0;
  const cut = (): void => {
    client.stopWatching(); // the simulated engine crashed; the client did not leave
    res.destroy();
  };

  // Looked up once the request runs, as an engine's scheduler does; the cached share skips prefill.
  const cached = ctx.prefixCache.admit(prompt.text);
  ctx.counters.prefixCacheQueries += prompt.tokens;
  ctx.counters.prefixCacheHits += Math.round(prompt.tokens * cached.cachedShare);
  try {
    await pause(ctx.ttftMs * (1 - (1 - ctx.cachedTtftFraction) * cached.cachedShare) + request.prefillMs, signal);
    ctx.counters.promptTokens += prompt.tokens;
    if (tools) {
      await serveToolCalls(ctx, tools, dialect, g, request, res, signal);
      ctx.counters.finished.stop++; // vLLM counts an answer of tool calls as stopped
      return;
    }
    if (request.stream) {
      res.writeHead(200, { 'content-type': dialect.streamType, 'cache-control': 'no-cache' });
      const head = dialect.head(g, prompt.tokens);
      if (head) await write(res, head, signal);
      let soFar = '';
      for (let i = start; i < end; i++) {
        if (i > start) await pause(ctx.itlMs, signal);
        if (i === cutAt) return cut();
        if (i === errorAt) return void res.end(dialect.streamError(`simulated engine failure after ${i} tokens ([[sim:error-after]])`));
        if (i === stallAt) await stall(signal);
        const text = tokenAt(seed, i);
        soFar += text;
        generated++;
        // Dialects number the tokens of this response, as the engine would.
        await write(res, dialect.token(g, text, i - start, i === end - 1 ? finish : null, soFar, usageOf(prompt.tokens, generated)), signal);
        ctx.counters.generationTokens++;
      }
      res.end(dialect.tail(g, finish, usageOf(prompt.tokens, generated), soFar));
    } else {
      if (cutAt !== undefined) return cut();
      if (stallAt !== undefined) await stall(signal);
      for (let i = 1; i < count; i++) await pause(ctx.itlMs, signal);
      ctx.counters.generationTokens += count;
      sendJson(res, 200, dialect.whole(g, textBetween(seed, start, end), finish, usageOf(prompt.tokens, count)));
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
