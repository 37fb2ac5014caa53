/**
 * One generation request from slot to last byte: start it on the timing (timing.ts: a batch slot and
 * fixed latencies, or the stepped engine), wait for its first token, then write the answer (SSE
 * chunks or one JSON body) a token at a time as the timing makes them. Every wait also watches the
 * client: if it goes away, queued or generating, the request stops at once, frees its slot (or its
 * sequence's KV blocks) and is counted as aborted.
 *
 * A continuation (continuation.ts) generates tokens k, k+1, … of the answer to the original prompt
 * and ends where the undisturbed answer would have, with the same finish reason: its max_tokens is
 * the remaining budget, and the default length counts the k tokens it was given. Fault positions
 * count over the whole answer (faults.ts).
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Fault } from './faults.js';
import { seedOf, textBetween, tokenAt } from './generation.js';
import type { SimCounters } from './sim-metrics.js';
import type { Pacing, Timing } from './timing.js';
import type { SimRequest } from './sim-request.js';
import type { Dialect } from './dialect.js';
import { toolCallTokens } from './tool-calls.js';
import { type FinishReason, type Generation, newGeneration, usageOf } from './wire.js';

export interface GenerationContext {
  /** When tokens come (timing.ts): fixed latencies, or the stepped engine. */
  timing: Timing;
  counters: SimCounters;
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

/** Observes the time to first token and between tokens, from the request's arrival, in vLLM's histograms. */
function observed(pacing: Pacing, counters: SimCounters, arrived: number): Pacing {
  let last: number | undefined;
  return {
    async next(signal) {
      await pacing.next(signal);
      const now = performance.now();
      if (last === undefined) counters.ttft.observe((now - arrived) / 1000);
      else counters.itl.observe((now - last) / 1000);
      last = now;
    },
    close: () => pacing.close(),
  };
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

const toolTokens = (request: SimRequest): number => request.toolCalls.reduce((n, c) => n + toolCallTokens(c), 0);

/** An answer of tool calls (the first token already came); faults do not apply to it. */
async function serveToolCalls(ctx: GenerationContext, tools: NonNullable<Dialect['tools']>, dialect: Dialect, g: Generation, request: SimRequest,
  res: ServerResponse, pacing: Pacing, signal: AbortSignal): Promise<void> {
  const calls = request.toolCalls;
  const tokens = toolTokens(request);
  const usage = usageOf(request.prompt.tokens, tokens);
  if (request.stream) {
    res.writeHead(200, { 'content-type': dialect.streamType, 'cache-control': 'no-cache' });
    const head = dialect.head(g, request.prompt.tokens);
    if (head) await write(res, head, signal);
    for (const [i, event] of tools.events(g, calls).entries()) {
      if (i > 0) await pacing.next(signal);
      await write(res, event, signal);
    }
    res.end(tools.tail(g, usage));
  } else {
    for (let i = 1; i < tokens; i++) await pacing.next(signal);
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
  const arrived = performance.now();
  const client = watchClient(res);
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

  let started: Pacing | undefined;
  try {
    started = await ctx.timing.start({ prompt, start, count: tools ? toolTokens(request) : count, prefillMs: request.prefillMs }, signal);
  } catch (error) {
    client.stopWatching();
    throw error;
  }
  if (!started) {
    client.stopWatching();
    ctx.counters.aborted++;
    ctx.counters.finished.abort++;
    return;
  }
  const pacing = observed(started, ctx.counters, arrived);
  try {
    await pacing.next(signal);
    ctx.counters.promptTokens += prompt.tokens;
    if (tools) {
      await serveToolCalls(ctx, tools, dialect, g, request, res, pacing, signal);
      ctx.counters.finished.stop++; // vLLM counts an answer of tool calls as stopped
      return;
    }
    if (request.stream) {
      res.writeHead(200, { 'content-type': dialect.streamType, 'cache-control': 'no-cache' });
      const head = dialect.head(g, prompt.tokens);
      if (head) await write(res, head, signal);
      let soFar = '';
      for (let i = start; i < end; i++) {
        if (i > start) await pacing.next(signal);
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
      for (let i = 1; i < count; i++) await pacing.next(signal);
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
    pacing.close();
  }
}
