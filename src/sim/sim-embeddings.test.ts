// The simulator's embeddings in each embedding engine's wire format, over real loopback HTTP:
// deterministic unit-norm vectors of the configured size, one per input, the token count where the
// engine reports it, `dimensions`, and each engine's refusals.
import { describe, expect, it } from 'vitest';
import { defaultEmbeddingDimensions, embedText } from './embeddings.js';
import { FAIL_DIRECTIVE } from './faults.js';
import { simFormats } from './formats/index.js';
import { simulators } from './sim-test-support.js';

const start = simulators();
const key = 'sk-provider';
type Json = Record<string, unknown>;

interface Spec {
  path: string;
  headers?: Record<string, string>;
  body(input: unknown, extra?: Json): Json;
  read(res: Response): Promise<{ vectors: number[][]; tokens: number | undefined }>;
}

const openAi = (path = '/v1/embeddings', headers?: Record<string, string>): Spec => ({
  path, ...(headers ? { headers } : {}),
  body: (input, extra) => ({ model: 'sim-embed', input, ...extra }),
  async read(res) {
    const json = (await res.json()) as { data: Array<{ index: number; embedding: number[] }>; usage: { prompt_tokens: number; total_tokens: number } };
    expect(json.usage.total_tokens).toBe(json.usage.prompt_tokens);
    return { vectors: json.data.sort((a, b) => a.index - b.index).map((d) => d.embedding), tokens: json.usage.prompt_tokens };
  },
});

const specs: Record<string, Spec> = {
  vllm: openAi(),
  llamacpp: openAi(),
  openai: openAi('/v1/embeddings', { authorization: `Bearer ${key}` }),
  'azure-openai': openAi('/openai/deployments/sim-embed/embeddings?api-version=2024-10-21', { 'api-key': key }),
  ollama: {
    path: '/api/embed',
    body: (input, extra) => ({ model: 'sim-embed', input, ...extra }),
    async read(res) {
      const json = (await res.json()) as { embeddings: number[][]; prompt_eval_count: number };
      return { vectors: json.embeddings, tokens: json.prompt_eval_count };
    },
  },
  tei: {
    path: '/embed',
    body: (input, extra) => ({ inputs: input, ...extra }),
    async read(res) {
      return { vectors: (await res.json()) as number[][], tokens: Number(res.headers.get('x-compute-tokens')) };
    },
  },
};

const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('simulator embeddings', () => {
  const embedding = Object.keys(simFormats).filter((f) => simFormats[f]!.routes.some((r) => r.embed));
  it('has a spec here for every format that embeds', () => {
    expect(Object.keys(specs).sort()).toEqual(embedding.sort());
  });

  it('gives a text the same unit-norm float32 vector every time, and another text another one', () => {
    const a = embedText('the sea', 16);
    expect(embedText('the sea', 16)).toEqual(a);
    expect(embedText('the sky', 16)).not.toEqual(a);
    expect(norm(a)).toBeCloseTo(1, 6);
    for (const x of a) expect(Math.fround(x)).toBe(x);
  });

  describe.each(embedding)('format %s', (format) => {
    const spec = specs[format]!;
    const send = async (input: unknown, extra?: Json, options: { embeddingDimensions?: number } = {}): Promise<Response> => {
      const sim = await start({ format, apiKey: key, ...options });
      return fetch(`${sim.url}${spec.path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...spec.headers }, body: JSON.stringify(spec.body(input, extra)) });
    };

    it('answers a batch with one deterministic unit vector per input, in order, and the words as tokens', async () => {
      const res = await send(['the quiet sea', 'a storm']);
      expect(res.status).toBe(200);
      const { vectors, tokens } = await spec.read(res);
      expect(vectors).toEqual([embedText('the quiet sea', defaultEmbeddingDimensions), embedText('a storm', defaultEmbeddingDimensions)]);
      expect(norm(vectors[0]!)).toBeCloseTo(1, 5);
      expect(tokens).toBe(5);
    });

    it('answers a single string, in the configured size, and `dimensions` smaller than it', async () => {
      const one = await spec.read(await send('hello there', undefined, { embeddingDimensions: 32 }));
      expect(one.vectors).toEqual([embedText('hello there', 32)]);
      const small = await spec.read(await send('hello there', { dimensions: 8 }, { embeddingDimensions: 32 }));
      expect(small.vectors[0]).toHaveLength(8);
    });

    it('refuses `dimensions` beyond the model\'s, and [[sim:fail]], in its own error shape', async () => {
      const big = await send('x', { dimensions: 100_000 });
      expect(big.status).toBeGreaterThanOrEqual(400);
      expect(big.status).toBeLessThan(500);
      const failed = await send(`boom ${FAIL_DIRECTIVE}`);
      expect(failed.status).toBe(500);
    });
  });

  it('tei takes token ids and refuses a batch over its max-client-batch-size with 413', async () => {
    const sim = await start({ format: 'tei' });
    const post = (inputs: unknown) => fetch(`${sim.url}/embed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs }) });
    const ids = await post([[101, 7592, 102]]);
    expect(ids.headers.get('x-compute-tokens')).toBe('3');
    const big = await post(Array.from({ length: 33 }, (_, i) => `text ${i}`));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error_type: 'validation' });
  });

  it('ollama refuses token ids with its {"error"} shape', async () => {
    const sim = await start({ format: 'ollama' });
    const res = await fetch(`${sim.url}/api/embed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: [1, 2, 3] }) });
    expect(res.status).toBe(400);
    expect(typeof ((await res.json()) as { error?: unknown }).error).toBe('string');
  });
});
