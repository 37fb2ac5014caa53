// The operation registry and the embeddings operation's pieces: the registry is consistent, the four
// `input` forms become two, the bounds hold, and vectors survive packing into frames and rendering.
import { describe, expect, it } from 'vitest';
import { LlmuxError } from '../errors.js';
import { base64Float32, packVectors } from '../protocol/vectors.js';
import { embeddings, maxEmbeddingInputLength } from './embeddings.js';
import { operationAt, operations } from './index.js';
import type { ValidatedRequest } from './operation.js';

const request = (input: unknown, extra: Record<string, unknown> = {}): ValidatedRequest => {
  const body = embeddings.prepare({ model: 'm', input, ...extra });
  if (body instanceof LlmuxError) throw body;
  return { operation: 'embeddings', model: 'm', stream: false, includeUsage: false, body };
};

describe('operations - the registry', () => {
  it('names every operation by its key, at a path of its own', () => {
    for (const [key, op] of Object.entries(operations)) {
      expect(op.name).toBe(key);
      expect(operationAt(op.path)).toBe(op);
    }
    expect(new Set(Object.values(operations).map((o) => o.path)).size).toBe(Object.keys(operations).length);
    expect(operationAt('/v1/nothing')).toBeUndefined();
  });

  it('gives every operation that streams an SSE rendering, and embeddings none', () => {
    expect(operations.chat.stream).toBeDefined();
    expect(operations.completion.stream).toBeDefined();
    expect(operations.embeddings.stream).toBeUndefined();
  });
});

describe('operations - embeddings input', () => {
  it('turns the four OpenAI forms into texts or token-id arrays', () => {
    expect(request('a').body.input).toEqual(['a']);
    expect(request(['a', 'b']).body.input).toEqual(['a', 'b']);
    expect(request([1, 2]).body.input).toEqual([[1, 2]]);
    expect(request([[1], [2, 3]]).body.input).toEqual([[1], [2, 3]]);
  });

  it(`refuses more than ${maxEmbeddingInputLength} characters or token ids in all, naming input`, () => {
    const half = 'x'.repeat(maxEmbeddingInputLength / 2);
    expect(() => request([half, half])).not.toThrow();
    expect(() => request([half, half, 'y'])).toThrow(expect.objectContaining({ param: 'input', code: 'invalid_request' }));
    const ids = Array.from({ length: 4 }, () => new Array<number>(maxEmbeddingInputLength / 4 + 1).fill(1));
    expect(() => request(ids)).toThrow(expect.objectContaining({ param: 'input' }));
  });

  it('counts texts with the tokenizer and token ids one each', async () => {
    const tokens = { countTexts: async (_t: string, texts: string[]) => texts.map((t) => t.length), countChat: async () => 0 };
    expect(await embeddings.countPrompt(tokens as never, 'o200k', request(['abc', 'de']).body)).toEqual({ total: 5, longest: 3, answers: 1 });
    expect(await embeddings.countPrompt(tokens as never, 'o200k', request([[1, 2], [3]]).body)).toEqual({ total: 3, longest: 2, answers: 1 });
    expect(embeddings.maxTokens({})).toBe(0);
  });
});

describe('operations - embeddings answer', () => {
  const vectors = [[0.1, -0.2, 0.3], [1e-7, 0, -1], [0.5, 0.25, 0.125]];

  it('assembles vectors from several frames, in input order, as floats or as float32 base64', () => {
    const blocks = packVectors(vectors, 24 + 8); // one vector per frame
    expect(blocks).toHaveLength(3);
    for (const format of ['float', 'base64'] as const) {
      const answer = embeddings.answer(request(['a', 'b', 'c'], { encoding_format: format }));
      for (const b of [...blocks].reverse()) expect(answer.add({ type: 'vectors', ...b })).toBe(true);
      expect(answer.missing()).toBeUndefined();
      const out = answer.render({ id: 'x', created: 0, clientModel: 'f/m' }, { promptTokens: 7, completionTokens: 0 }) as { data: Array<{ index: number; embedding: unknown }>; usage: unknown };
      expect(out.data.map((d) => d.index)).toEqual([0, 1, 2]);
      expect(out.data.map((d) => d.embedding)).toEqual(format === 'float' ? vectors : vectors.map(base64Float32));
      expect(out).toMatchObject({ object: 'list', model: 'f/m', usage: { prompt_tokens: 7, total_tokens: 7 } });
    }
  });

  it('writes base64 as OpenAI does: float32, little-endian', () => {
    expect(base64Float32([1, -2])).toBe('AACAPwAAAMA=');
  });

  it('reports inputs without a vector, and refuses frames beyond the inputs, of another size, or of deltas', () => {
    const answer = embeddings.answer(request(['a', 'b']));
    const [first] = packVectors([vectors[0]!], 1024);
    expect(answer.add({ type: 'vectors', ...first! })).toBe(true);
    expect(answer.missing()).toBe('1 of 2 inputs got no vector');
    expect(answer.add({ type: 'vectors', ...packVectors(vectors, 1024)[0]! })).toBe(false);
    expect(answer.add({ type: 'vectors', ...packVectors([[1, 2]], 1024)[0]!, first: 1 })).toBe(false);
    expect(answer.add({ type: 'vectors', first: 1, dims: 3, data: new Uint8Array(5) })).toBe(false);
    expect(answer.add({ type: 'deltas', deltas: [{ index: 0, text: 'hi' }] })).toBe(false);
  });
});

describe('operations - no branching on an operation outside the registry', () => {
  it('has no `operation === ...` test in src/ outside engine-adapters/ and sim/ (engines\' wire formats differ by operation)', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { join, relative } = await import('node:path');
    const src = new URL('..', import.meta.url).pathname;
    const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
    const found = files(src)
      .map((p) => relative(src, p))
      .filter((p) => p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.startsWith('engine-adapters') && !p.startsWith('sim'))
      .flatMap((p) => readFileSync(join(src, p), 'utf8').split('\n').filter((l) => /\boperation\s*[!=]==\s*'(chat|completion|embeddings)'/.test(l)).map((l) => `${p}: ${l.trim()}`));
    expect(found).toEqual([]);
  });
});
