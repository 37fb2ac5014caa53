// Every adapter that embeds against hostile embeddings answers over real loopback HTTP: well-formed
// answers with values, lengths, counts, indexes and types corrupted, garbage, error bodies, any
// status. Each call either returns exactly one finite vector per input, all of one length, with
// usage counts that can be billed, or throws a LlmuxError with a known code; nothing else, and never
// anything from a non-2xx answer.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingRequest, EngineAdapter } from '../src/engine-adapters/adapter.js';
import { embedWith } from '../src/engine-adapters/capabilities.js';
import { ReplayServer } from '../src/engine-adapters/fixtures/replay-server.js';
import { createEngineAdapter, engineKindsServing, type EngineKind } from '../src/engine-adapters/registry.js';
import { ErrorCode, LlmuxError } from '../src/errors.js';
import { fuzzBudget } from './fuzz-runs.js';
import { anyJson } from './hostile-engine.js';

const knownCodes = new Set<string>(Object.values(ErrorCode));
let server: ReplayServer;
const adapters = new Map<EngineKind, EngineAdapter>();
beforeAll(async () => {
  server = await ReplayServer.start();
});
afterAll(async () => {
  for (const a of adapters.values()) await a.close();
  await server?.close();
});
const adapterFor = (kind: EngineKind): EngineAdapter => {
  let a = adapters.get(kind);
  if (!a) adapters.set(kind, (a = createEngineAdapter(kind, { baseUrl: server.baseUrl })));
  return a;
};

/** A value, mostly a plausible one: a float, sometimes anything at all. */
const valueArb: fc.Arbitrary<unknown> = fc.oneof({ weight: 20, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true, min: -2, max: 2 }) }, { weight: 1, arbitrary: anyJson });
const countArb = fc.oneof(fc.nat(100), anyJson);

/** Vectors for `n` inputs: mostly `n` of one length (some values corrupted), sometimes the wrong count or lengths, or not vectors. */
const vectorsArb = (n: number): fc.Arbitrary<unknown> => fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 4 }).chain((len) => fc.array(fc.array(valueArb, { minLength: len, maxLength: len }), { minLength: n, maxLength: n })) },
  { weight: 2, arbitrary: fc.array(fc.array(valueArb, { minLength: 1, maxLength: 4 }), { minLength: n, maxLength: n }) },
  { weight: 1, arbitrary: fc.array(fc.array(valueArb, { maxLength: 4 }), { maxLength: 4 }) },
  { weight: 1, arbitrary: anyJson },
);

/** An answer for `n` inputs in one of the embedding wire shapes, corrupted or not, or garbage. */
const bodyArb = (n: number): fc.Arbitrary<string> => fc.oneof(
  fc.tuple(vectorsArb(n), fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: anyJson }), { minLength: 4, maxLength: 4 }),
    fc.option(fc.record({ prompt_tokens: countArb }), { nil: undefined }))
    .map(([vectors, badIndex, usage]) => JSON.stringify({
      data: Array.isArray(vectors) ? vectors.map((embedding, i) => ({ object: 'embedding', index: badIndex[i] ?? i, embedding })).reverse() : vectors,
      ...(usage ? { usage } : {}),
    })),
  fc.record({ embeddings: vectorsArb(n), prompt_eval_count: countArb }).map((b) => JSON.stringify(b)),
  vectorsArb(n).map((b) => JSON.stringify(b) ?? 'null'),
  fc.record({ error: anyJson }).map((b) => JSON.stringify(b)),
  fc.string({ maxLength: 40 }),
);

const answerArb = fc.integer({ min: 1, max: 3 }).chain((inputs) => fc.record({
  inputs: fc.constant(inputs),
  body: bodyArb(inputs),
  status: fc.oneof({ weight: 5, arbitrary: fc.constant(200) }, { weight: 1, arbitrary: fc.constantFrom(400, 404, 413, 422, 429, 500, 503) }),
  computeTokens: fc.option(fc.oneof(fc.nat(50).map(String), fc.constantFrom('-1', '1.5', 'x', '1e400')), { nil: undefined }),
}));

const budget = fuzzBudget(100, 40);

describe.each(engineKindsServing('embed'))('%s adapter - hostile embeddings answers', (kind) => {
  it('returns one finite vector per input, all of one length, with billable counts, or throws a known LlmuxError', async () => {
    await fc.assert(fc.asyncProperty(answerArb, async (answer) => {
      server.reply = { status: answer.status, body: answer.body, ...(answer.computeTokens !== undefined ? { headers: { 'x-compute-tokens': answer.computeTokens } } : {}) };
      const input = Array.from({ length: answer.inputs }, (_, i) => `text ${i}`);
      const request: EmbeddingRequest = { model: 'm', input, body: { input }, requestId: 'fuzz', deadline: Date.now() + 5_000 };
      let result;
      try {
        result = await embedWith(adapterFor(kind), request, new AbortController().signal);
      } catch (error) {
        expect(error, `threw ${String(error)}`).toBeInstanceOf(LlmuxError);
        expect(knownCodes.has((error as LlmuxError).code)).toBe(true);
        return;
      }
      expect(answer.status).toBe(200);
      expect(result.vectors).toHaveLength(answer.inputs);
      const length = result.vectors[0]!.length;
      expect(length).toBeGreaterThan(0);
      for (const v of result.vectors) {
        expect(v).toHaveLength(length);
        for (const x of v) expect(Number.isFinite(x)).toBe(true);
      }
      for (const count of Object.values(result.usage ?? {})) expect(Number.isSafeInteger(count) && count >= 0).toBe(true);
    }), budget.parameters);
  }, budget.timeoutMs);
});
