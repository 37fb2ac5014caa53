/**
 * `POST /v1/embeddings`: OpenAI's four `input` forms (a string, strings, token ids, token-id
 * arrays) forwarded as one of two (texts or token-id arrays), bounded in count and total length;
 * one vector per input back, as floats or as OpenAI's base64 (float32, little-endian). Never
 * streamed. Usage is the prompt's tokens (the engine's count where it reports one), completion 0.
 */
import { z } from 'zod';
import { invalidRequest } from '../errors.js';
import { base64Float32, blockLength, type VectorBlock, vectorOf } from '../protocol/vectors.js';
import type { AnswerUsage, OperationSpec, Output, RenderContext, ValidatedRequest, WholeAnswer } from './operation.js';

/** OpenAI's own bound on inputs per request. */
export const maxEmbeddingInputs = 2048;
/** Characters (or token ids) of all inputs together. */
export const maxEmbeddingInputLength = 2 * 1024 * 1024;
const maxTokenId = 2 ** 31 - 1;

export const embeddingsBodySchema = z.looseObject({
  model: z.string().min(1),
  input: z.unknown(),
  stream: z.literal(false, 'embeddings are not streamed').nullish(),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().max(65_536).nullish(),
  user: z.string().nullish(),
});

type Input = string[] | number[][];

const isTokenId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= maxTokenId;

/** The input in array form, or why not (the field at fault named). */
function inputOf(raw: unknown): Input | { param: string; message: string } {
  const bad = (param: string, message: string) => ({ param, message });
  if (typeof raw === 'string') return raw === '' ? bad('input', "'input' cannot be an empty string") : [raw];
  if (!Array.isArray(raw)) return bad('input', "'input' must be a string, an array of strings, an array of token ids or an array of token-id arrays");
  if (raw.length === 0) return bad('input', "'input' cannot be an empty array");
  if (raw.length > maxEmbeddingInputs) return bad('input', `'input' has ${raw.length} items; at most ${maxEmbeddingInputs} are allowed`);
  let length = 0;
  if (typeof raw[0] === 'string') {
    for (const [i, s] of raw.entries()) {
      if (typeof s !== 'string') return bad(`input.${i}`, `'input.${i}' must be a string like the other inputs`);
      if (s === '') return bad(`input.${i}`, `'input.${i}' cannot be an empty string`);
      length += s.length;
    }
  } else if (typeof raw[0] === 'number') {
    for (const [i, id] of raw.entries()) if (!isTokenId(id)) return bad(`input.${i}`, `'input.${i}' must be a token id (an integer from 0 to ${maxTokenId})`);
    length = raw.length;
    if (length <= maxEmbeddingInputLength) return [raw as number[]];
  } else if (Array.isArray(raw[0])) {
    for (const [i, ids] of raw.entries()) {
      if (!Array.isArray(ids) || ids.length === 0) return bad(`input.${i}`, `'input.${i}' must be a non-empty array of token ids`);
      for (const [j, id] of ids.entries()) {
        if (!isTokenId(id)) return bad(`input.${i}.${j}`, `'input.${i}.${j}' must be a token id (an integer from 0 to ${maxTokenId})`);
      }
      length += ids.length;
      if (length > maxEmbeddingInputLength) break;
    }
  } else {
    return bad('input.0', "'input.0' must be a string, a token id or an array of token ids");
  }
  if (length > maxEmbeddingInputLength) return bad('input', `'input' holds more than ${maxEmbeddingInputLength} characters or token ids in all; send fewer per request`);
  return raw as Input;
}

class EmbeddingsAnswer implements WholeAnswer {
  readonly #vectors: (number[] | undefined)[];
  #dims: number | undefined;

  constructor(readonly count: number, readonly format: 'float' | 'base64') {
    this.#vectors = new Array<number[] | undefined>(count).fill(undefined);
  }

  add(output: Output): boolean {
    if (output.type !== 'vectors') return false;
    const block: VectorBlock = output;
    const n = blockLength(block);
    if (n === undefined || !Number.isInteger(block.first) || block.first < 0 || block.first + n > this.count) return false;
    if (this.#dims !== undefined && block.dims !== this.#dims) return false;
    this.#dims = block.dims;
    for (let i = 0; i < n; i++) this.#vectors[block.first + i] = vectorOf(block, i);
    return true;
  }

  missing(): string | undefined {
    const absent = this.#vectors.filter((v) => v === undefined).length;
    return absent > 0 ? `${absent} of ${this.count} inputs got no vector` : undefined;
  }

  render(ctx: RenderContext, usage: AnswerUsage): Record<string, unknown> {
    return {
      object: 'list',
      data: this.#vectors.map((v, index) => ({ object: 'embedding', index, embedding: this.format === 'base64' ? base64Float32(v ?? []) : (v ?? []) })),
      model: ctx.clientModel,
      usage: { prompt_tokens: usage.promptTokens, total_tokens: usage.promptTokens },
    };
  }
}

const inputs = (body: Readonly<Record<string, unknown>>): Input => body.input as Input;
const textOf = (input: string | number[]): string => (typeof input === 'string' ? input : input.join(' '));

export const embeddings: OperationSpec = {
  name: 'embeddings',
  path: '/v1/embeddings',
  idPrefix: 'embd',
  promptField: 'input',
  schema: embeddingsBodySchema,
  prepare(body) {
    const input = inputOf(body.input);
    if (!Array.isArray(input)) return invalidRequest(input.param, input.message);
    return { ...body, input };
  },
  work: { kind: 'embed' },
  async countPrompt(tokens, tokenizer, body) {
    const input = inputs(body);
    const counts = typeof input[0] === 'string' ? await tokens.countTexts(tokenizer, input as string[]) : (input as number[][]).map((ids) => ids.length);
    return { total: counts.reduce((a, b) => a + b, 0), longest: Math.max(...counts), answers: 1 };
  },
  promptText: (body) => inputs(body).map(textOf).join('\n'),
  affinityText: (body) => textOf(inputs(body)[0] ?? '').slice(0, 1024),
  maxTokens: () => 0,
  answer: (request: ValidatedRequest) => new EmbeddingsAnswer(inputs(request.body).length, request.body.encoding_format === 'base64' ? 'base64' : 'float'),
};
