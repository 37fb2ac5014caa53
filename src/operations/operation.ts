/**
 * What an API operation is (DESIGN.md "operations as modules"): one file per operation declares its
 * path, its request schema, the work it asks of an engine, how its prompt is counted, and how its
 * answer is rendered, whole and (where it streams) as SSE events. The gateway, the worker and the
 * route proxy read these; none of them branches on which operation it is serving.
 */
import type { z } from 'zod';
import type { Delta, Operation as GenerationOperation } from '../engine-adapters/adapter.js';
import type { ErrorInfo, LlmuxError } from '../errors.js';
import type { TokenCounter } from '../tokenize/index.js';
import type { OperationName } from './index.js';

/** A request body checked at the HTTP boundary, for the operation `operation`. */
export interface ValidatedRequest {
  operation: OperationName;
  model: string;
  stream: boolean;
  includeUsage: boolean;
  /** The body to forward, minus the fields the gateway and adapter own (model, stream, stream_options). */
  body: Record<string, unknown>;
}


export interface RenderContext {
  id: string;
  created: number;
  /** The model string the client sent, which it sees back. */
  clientModel: string;
  /** The gateway's prompt count, for a stream that states it up front (Anthropic's `message_start`). */
  promptTokens?: number;
}

/** Token counts as the client sees them (usage-reconcile.ts). */
export interface AnswerUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens?: number;
}

export interface PromptCount {
  /** Tokens of every prompt together (what usage reports). */
  total: number;
  /** Tokens of the longest single prompt (what must fit the context; a prompt array is one engine request per prompt). */
  longest: number;
  /** Answers the engine generates: one per prompt of a completions prompt array, one for a chat, none for embeddings. */
  answers: number;
}

/** One frame's worth of engine output, as the worker sent it (reply.protocol.ts). */
export type Output =
  | { type: 'deltas'; deltas: readonly Delta[] }
  /** Vectors `first`, `first + 1`, … of `dims` float64 values each, little-endian (protocol/vectors.ts). */
  | { type: 'vectors'; first: number; dims: number; data: Uint8Array };

/** The non-streamed answer, built from the frames of one attempt. */
export interface WholeAnswer {
  /** False when this operation has no output of that kind: the worker sent something else. */
  add(output: Output): boolean;
  /** What is still missing for the answer to be whole (inputs without a vector), if anything. */
  missing(): string | undefined;
  render(ctx: RenderContext, usage: AnswerUsage): Record<string, unknown>;
}

/** SSE rendering, for the operations that stream. */
export interface StreamRender {
  /** The events for one frame's deltas, as one string (written with one `write`). */
  chunkEvents(ctx: RenderContext, deltas: readonly Delta[]): string;
  usageEvent(ctx: RenderContext, usage: AnswerUsage): string;
  /** A stream that ends with events of its own (Responses' `response.completed`) instead of usage and `[DONE]`. */
  endEvents?(ctx: RenderContext, usage: AnswerUsage): string;
  /** A stream that breaks with events of its own (Responses' `response.failed`) instead of the SSE error event. */
  failEvents?(ctx: RenderContext, error: ErrorInfo): string;
}

/** Who makes a request, as an operation that keeps answers sees it. */
export interface Caller {
  tenant: string;
  keyId: string;
}

/** Where the gateway keeps answers for a while (JetStream KV with a TTL). */
export interface AnswerMemory {
  get(id: string): Promise<unknown>;
  put(id: string, value: unknown): Promise<void>;
}

/** An operation whose answers outlive the request (Responses' `store` and `previous_response_id`). */
export interface StatefulOperation {
  /**
   * Before the prompt is counted: completes the request from what it continues (rewriting its
   * body), or the error to answer. Returns what to do with the whole answer once it is complete.
   */
  open(request: ValidatedRequest, caller: Caller, memory: AnswerMemory | undefined):
    Promise<((answer: Record<string, unknown>) => Promise<void>) | undefined | LlmuxError>;
  /** `GET <path>/<id>`: a kept answer the caller may see, or the 404. */
  stored(id: string, caller: Caller, memory: AnswerMemory | undefined): Promise<Record<string, unknown> | LlmuxError>;
}

/** What the worker asks of its engine for this operation. */
export type EngineWork = { kind: 'generate'; operation: GenerationOperation } | { kind: 'embed' };

export interface OperationSpec {
  /** Its key in the registry (index.ts), and `gen_ai.operation.name` in metrics. */
  name: string;
  path: `/v1/${string}`;
  /** Prefix of answer ids (`chatcmpl-…`). */
  idPrefix: string;
  /** The body field holding the prompt, named in errors. */
  promptField: string;
  /** The body's schema (unknown fields pass through to the engine). */
  schema: z.ZodType<Record<string, unknown>>;
  /** The parsed body as it is forwarded (e.g. embeddings' `input` in array form), or the 400 naming the field at fault. */
  prepare(body: Record<string, unknown>): Record<string, unknown> | LlmuxError;
  work: EngineWork;
  countPrompt(tokens: TokenCounter, tokenizer: string, body: Readonly<Record<string, unknown>>): Promise<PromptCount>;
  /** The prompt as text, for prefix-aware routing. */
  promptText(body: Readonly<Record<string, unknown>>): string;
  /** The text a session-affinity key is hashed from when the request names no session. */
  affinityText(body: Readonly<Record<string, unknown>>): string;
  /** The completion budget the client asked for; 0 for an operation that generates nothing. */
  maxTokens(body: Readonly<Record<string, unknown>>): number | undefined;
  answer(request: ValidatedRequest): WholeAnswer;
  /** Present for operations that stream. */
  stream?: StreamRender;
  /** For operations whose stream has state of its own (numbered events, text so far): one per answer, in place of `stream`. */
  openStream?(request: ValidatedRequest): StreamRender;
  stateful?: StatefulOperation;
  /** The error body of this dialect (Anthropic's `{type: 'error', error}`), in place of OpenAI's. */
  errorBody?(error: ErrorInfo): Record<string, unknown>;
  /** A header its clients send the API key in (Anthropic's `x-api-key`), taken as `Authorization: Bearer`. */
  keyHeader?: string;
}
