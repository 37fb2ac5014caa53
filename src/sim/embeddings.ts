/**
 * Deterministic embeddings for the simulator: each input's vector is a seeded hash of its text (a
 * token-id input: its ids joined), spread by a small PRNG over `dims` values and scaled to unit
 * length, every value a float32 (as engines compute them), so the same text always gets the same
 * vector and base64 round-trips exactly. Token counts follow prompt.ts: words of a text, one per id.
 */
import { FAIL_DIRECTIVE } from './faults.js';
import { wordCount } from './prompt.js';
import { SimBadRequest } from './sim-request.js';

/** The vector size of the simulated embedding model when the request asks for none. */
export const defaultEmbeddingDimensions = 768;

export type SimEmbedInput = string | number[];

export interface SimEmbedRequest {
  model: string | undefined;
  inputs: SimEmbedInput[];
  /** The size asked for (matryoshka); at most the model's. */
  dimensions: number | undefined;
  /** `[[sim:fail]]` in an input: the engine refuses the request. */
  fail: boolean;
}

/** FNV-1a over the text's UTF-16 code units: the seed. */
function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a tiny, good-enough PRNG. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const textOf = (input: SimEmbedInput): string => (typeof input === 'string' ? input : input.join(' '));

/** The unit-norm vector of `input`, `dims` float32 values. */
export function embedText(input: SimEmbedInput, dims: number): number[] {
  const next = random(seedOf(textOf(input)));
  const raw = Array.from({ length: dims }, () => next() * 2 - 1);
  const norm = Math.sqrt(raw.reduce((s, x) => s + x * x, 0)) || 1;
  return raw.map((x) => Math.fround(x / norm));
}

export function embedTokens(input: SimEmbedInput): number {
  return typeof input === 'string' ? Math.max(1, wordCount(input)) : input.length;
}

const isTokenIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && (x as number) >= 0);

/** `field` as a list of inputs: a string, strings, token ids or token-id arrays (as `idsAllowed`). Throws SimBadRequest. */
export function embedInputs(body: Record<string, unknown>, field: string, idsAllowed = true): SimEmbedInput[] {
  const raw = body[field];
  if (typeof raw === 'string') return [raw];
  if (Array.isArray(raw) && raw.length > 0) {
    if (raw.every((s) => typeof s === 'string')) return raw as string[];
    if (idsAllowed && isTokenIds(raw)) return [raw];
    if (idsAllowed && raw.every(isTokenIds)) return raw as number[][];
  }
  throw new SimBadRequest(`'${field}' must be ${idsAllowed ? 'a string, a list of strings, token ids or lists of token ids' : 'a string or a list of strings'}`, field);
}

export function parseEmbedRequest(body: Record<string, unknown>, field: string, options: { idsAllowed?: boolean; dimensionsField?: string } = {}): SimEmbedRequest {
  const inputs = embedInputs(body, field, options.idsAllowed ?? true);
  const dims = body[options.dimensionsField ?? 'dimensions'];
  if (dims !== undefined && dims !== null && !(Number.isInteger(dims) && (dims as number) > 0)) throw new SimBadRequest('dimensions must be a positive integer', 'dimensions');
  return {
    model: typeof body.model === 'string' ? body.model : undefined,
    inputs,
    dimensions: typeof dims === 'number' ? dims : undefined,
    fail: inputs.some((i) => typeof i === 'string' && i.includes(FAIL_DIRECTIVE)),
  };
}

/** The vectors and token count for a request, or the 400 for a size beyond the model's. */
export function embedAll(request: SimEmbedRequest, modelDims: number): { vectors: number[][]; tokens: number } {
  const dims = request.dimensions ?? modelDims;
  if (dims > modelDims) throw new SimBadRequest(`dimensions ${dims} is more than the model's ${modelDims}`, 'dimensions');
  return { vectors: request.inputs.map((i) => embedText(i, dims)), tokens: request.inputs.reduce((n, i) => n + embedTokens(i), 0) };
}

