// Every registered adapter against hostile engine answers (hostile-engine.ts) over real loopback
// HTTP: each either yields well-typed events and ends, or throws a LlmuxError with a known code;
// never hangs, never throws anything else, never ends cleanly on a body that lacks its end marker,
// never yields events from a non-2xx answer, and never puts an engine's secrets in an error message.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineAdapter, EngineEvent, EngineRequest } from '../src/engine-adapters/adapter.js';
import { engineFailureDetail } from '../src/engine-adapters/engine-errors.js';
import { createEngineAdapter, engineKindsServing, type EngineKind } from '../src/engine-adapters/registry.js';
import { ErrorCode, LlmuxError } from '../src/errors.js';
import { fuzzBudget } from './fuzz-runs.js';
import { type Dialect, dialectOf, type EngineAnswer, engineAnswerArb, engineApiKey, engineBody, HostileEngine, plantedSecrets } from './hostile-engine.js';

const knownCodes = new Set<string>(Object.values(ErrorCode));
/** What in a body lets each dialect end cleanly (a necessary condition, not a sufficient one). */
const endMarkers: Record<Dialect, RegExp | undefined> = {
  openai: /\[DONE\]/, 'sglang-generate': /\[DONE\]/, anthropic: /message_stop/, tgi: /"generated_text":"/, ollama: /"done":true/, triton: undefined,
};
/** A deadline for every request; a held (hung) answer gets a short one. */
const deadlineMs = (a: EngineAnswer): number => (a.ending === 'hold' ? 400 : 5_000);
const graceMs = 3_000;

let engine: HostileEngine;
const adapters = new Map<EngineKind, EngineAdapter>();
beforeAll(async () => {
  engine = await HostileEngine.start();
});
afterAll(async () => {
  for (const a of adapters.values()) await a.close();
  await engine?.close();
});
const adapterFor = (kind: EngineKind): EngineAdapter => {
  let a = adapters.get(kind);
  if (!a) adapters.set(kind, (a = createEngineAdapter(kind, { baseUrl: engine.baseUrl, apiKey: engineApiKey })));
  return a;
};

const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const optionalString = (v: unknown): boolean => v === undefined || typeof v === 'string';

/** Why `c` is not a well-typed tool-call delta, or undefined when it is. */
function illTypedToolCall(c: unknown): string | undefined {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return `entry ${JSON.stringify(c)}`;
  const t = c as Record<string, unknown>;
  if (!isCount(t.index)) return `index ${String(t.index)}`;
  if (!optionalString(t.id) || !optionalString(t.type)) return 'id or type not a string';
  if (t.function === undefined) return undefined;
  const fn = t.function as Record<string, unknown> | null;
  if (typeof fn !== 'object' || fn === null || Array.isArray(fn)) return `function ${JSON.stringify(fn)}`;
  return optionalString(fn.name) && optionalString(fn.arguments) ? undefined : 'function name or arguments not a string';
}

/** Why `e` is not a well-typed event, or undefined when it is. */
function illTyped(e: EngineEvent): string | undefined {
  if (e.type === 'delta') {
    const d = e.delta as unknown as Record<string, unknown>;
    if (!isCount(d.index) || (d.index as number) > 127) return `delta index ${String(d.index)}`;
    for (const key of ['role', 'text', 'reasoning', 'finishReason']) if (!optionalString(d[key])) return `delta ${key} of type ${typeof d[key]}`;
    if (d.toolCalls !== undefined) {
      if (!Array.isArray(d.toolCalls)) return 'delta toolCalls not an array';
      const bad = (d.toolCalls as unknown[]).find((c) => illTypedToolCall(c) !== undefined);
      if (bad !== undefined) return `tool call ${illTypedToolCall(bad)}`;
    }
    if (d.logprobs !== undefined) {
      if (!Array.isArray(d.logprobs)) return 'delta logprobs not an array';
      const bad = (d.logprobs as unknown[]).find((l) => typeof l !== 'object' || l === null || typeof (l as { token?: unknown }).token !== 'string' || typeof (l as { logprob?: unknown }).logprob !== 'number');
      if (bad !== undefined) return `logprob entry ${JSON.stringify(bad)}`;
    }
    const extra = Object.keys(d).filter((k) => !['index', 'role', 'text', 'reasoning', 'toolCalls', 'logprobs', 'finishReason'].includes(k));
    return extra.length > 0 ? `delta keys ${extra.join(', ')}` : undefined;
  }
  if (e.type === 'usage') {
    for (const [key, v] of Object.entries(e.usage)) {
      if (!['promptTokens', 'completionTokens', 'cachedTokens'].includes(key)) return `usage key ${key}`;
      if (v !== undefined && !isCount(v)) return `usage ${key} ${String(v)}`;
    }
    return undefined;
  }
  return `event type ${String((e as { type: unknown }).type)}`;
}

interface Outcome {
  ended: 'cleanly' | 'threw' | 'hung';
  events: EngineEvent[];
  error?: unknown;
  ms: number;
}

async function run(adapter: EngineAdapter, request: EngineRequest, boundMs: number): Promise<Outcome> {
  const controller = new AbortController();
  const events: EngineEvent[] = [];
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), boundMs)));
  let error: unknown;
  const consumed = (async (): Promise<'cleanly' | 'threw'> => {
    try {
      for await (const batch of adapter.stream(request, controller.signal)) {
        expect(Array.isArray(batch)).toBe(true);
        events.push(...batch);
      }
      return 'cleanly';
    } catch (e) {
      error = e;
      return 'threw';
    }
  })();
  const ended = await Promise.race([consumed, hung]);
  clearTimeout(timer);
  if (ended === 'hung') controller.abort('fuzz: hung');
  return { ended, events, error, ms: Date.now() - started };
}

const requestArb = fc.record({ operation: fc.constantFrom('chat' as const, 'completion' as const), stream: fc.boolean(), maxTokens: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }) });

const budget = fuzzBudget(40, 60);

describe.each(engineKindsServing('generate') as Array<keyof typeof dialectOf>)('%s adapter - hostile engine answers', (kind) => {
  const dialect = dialectOf[kind];
  it('yields well-typed events and ends, or throws a LlmuxError with a known code, within its deadline', async () => {
    await fc.assert(fc.asyncProperty(engineAnswerArb(dialect), requestArb, async (answer, r) => {
      engine.answer = answer;
      const request: EngineRequest = {
        operation: r.operation, stream: r.stream, model: 'm', requestId: 'fuzz', deadline: Date.now() + deadlineMs(answer),
        body: r.operation === 'chat'
          ? { messages: [{ role: 'user', content: 'hi' }], ...(r.maxTokens ? { max_tokens: r.maxTokens } : {}) }
          : { prompt: 'once upon', ...(r.maxTokens ? { max_tokens: r.maxTokens } : {}) },
      };
      const out = await run(adapterFor(kind), request, deadlineMs(answer) + graceMs);
      expect(out.ended, `hung for ${out.ms} ms`).not.toBe('hung');
      for (const e of out.events) expect(illTyped(e), JSON.stringify(e, (_k, v: unknown) => (typeof v === 'function' ? `[function ${v.name}]` : v))).toBeUndefined();
      if (out.ended === 'threw') {
        const error = out.error;
        expect(error, `threw ${String(error)}`).toBeInstanceOf(LlmuxError);
        expect(knownCodes.has((error as LlmuxError).code)).toBe(true);
        for (const secret of plantedSecrets) expect((error as LlmuxError).message).not.toContain(secret);
        // The log's account (the engine's words) keeps addresses, but never the key the adapter sent.
        expect(engineFailureDetail(error) ?? '').not.toContain(engineApiKey);
      }
      if (answer.status < 200 || answer.status >= 300) {
        expect(out.ended).toBe('threw');
        expect(out.events).toEqual([]);
      }
      if (out.ended === 'cleanly' && (r.stream || dialect !== 'openai')) {
        // A clean end needs the dialect's end marker (or, where the end of the body is the end, a body that ended).
        const marker = endMarkers[dialect];
        if (marker) expect(engineBody(answer).toString('utf8')).toMatch(marker);
        else expect(answer.ending === 'end' || answer.status === 204, 'a clean end of a body that did not end').toBe(true);
      }
    }), budget.parameters);
  }, budget.timeoutMs);
});
