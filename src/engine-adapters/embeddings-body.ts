/**
 * Embeddings on the wire: the OpenAI request body (vLLM, llama.cpp, OpenAI, Azure) and the readers
 * of every engine's answer, each checked to be exactly one finite vector per input, all of one
 * length, before anything reaches a client. Vectors are always asked for as floats: base64 is the
 * gateway's rendering, not the engine's.
 */
import { ErrorCode, LlmuxError } from '../errors.js';
import type { EmbeddingRequest, Embeddings, Usage } from './adapter.js';
import { EngineFailureDetail, engineGarbled, engineReportedError, errorFields } from './engine-errors.js';
import { usageFrom } from './engine-values.js';
import { parseJsonRecord } from './record-stream.js';

/** The body of POST /v1/embeddings (and Azure's deployment path) for `request`. */
export function openAiEmbeddingsBody(request: EmbeddingRequest): Record<string, unknown> {
  const { encoding_format: _, ...rest } = request.body;
  return { ...rest, model: request.model, input: request.input, encoding_format: 'float', ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}) };
}

function wrongShape(kind: string, why: string): LlmuxError {
  return new LlmuxError({ code: ErrorCode.upstreamError, retryable: true, message: `the ${kind} engine answered embeddings of the wrong shape` },
    { cause: new EngineFailureDetail('garbled', `${kind} engine embeddings: ${why}`) });
}

/** `vectors` when they are one finite, equally long vector per input; the upstream error otherwise. */
export function checkedVectors(kind: string, request: EmbeddingRequest, vectors: unknown): number[][] {
  if (!Array.isArray(vectors)) throw wrongShape(kind, 'not a list');
  if (vectors.length !== request.input.length) throw wrongShape(kind, `${vectors.length} vectors for ${request.input.length} inputs`);
  const length = Array.isArray(vectors[0]) ? vectors[0].length : 0;
  if (length === 0) throw wrongShape(kind, 'an empty vector');
  for (const v of vectors) {
    if (!Array.isArray(v) || v.length !== length) throw wrongShape(kind, 'vectors of different lengths');
    for (const x of v) if (typeof x !== 'number' || !Number.isFinite(x)) throw wrongShape(kind, `a value that is not a finite number (${String(x).slice(0, 20)})`);
  }
  return vectors as number[][];
}

/** OpenAI's answer: `{data: [{index, embedding}], usage: {prompt_tokens}}`, put in input order. */
export function readOpenAiEmbeddings(kind: string, request: EmbeddingRequest, text: string): Embeddings {
  const json = parseJsonRecord(kind, text);
  const error = errorFields(json);
  if (error) throw engineReportedError(kind, error.message);
  if (!Array.isArray(json.data)) throw engineGarbled(kind, text);
  if (json.data.length !== request.input.length) throw wrongShape(kind, `${json.data.length} vectors for ${request.input.length} inputs`);
  const byIndex: unknown[] = new Array(request.input.length);
  for (const item of json.data as unknown[]) {
    const index = (item as { index?: unknown } | null)?.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= request.input.length || byIndex[index] !== undefined) {
      throw wrongShape(kind, `an item with index ${String(index)}`);
    }
    byIndex[index] = (item as { embedding?: unknown }).embedding;
  }
  const usage = json.usage as { prompt_tokens?: unknown } | undefined;
  return withUsage({ vectors: checkedVectors(kind, request, byIndex) },
    usageFrom({ promptTokens: usage?.prompt_tokens }));
}

export function withUsage(embeddings: { vectors: number[][] }, usage: Usage): Embeddings {
  return Object.keys(usage).length > 0 ? { ...embeddings, usage } : embeddings;
}
