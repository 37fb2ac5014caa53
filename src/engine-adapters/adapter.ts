/**
 * The one interface every engine adapter implements. An adapter turns an OpenAI-shaped request into
 * the engine's wire format, streams the engine's answer back as normalized events, and maps the
 * engine's failures to llmux error codes (src/errors.ts). Nothing outside src/engine-adapters/ knows
 * which engine it is talking to.
 */
import type { KvEventSource } from './kv-event-source.js';
/**
 * The generating operations: what `stream` serves. Embeddings are `embed`'s. `responses` is a chat
 * body an engine that serves the Responses API natively gets as a Responses request; every other
 * engine serves it as the chat it is.
 */
export type Operation = 'chat' | 'completion' | 'responses';

export interface EngineRequest {
  operation: Operation;
  /**
   * Whether the client reads tokens as they come. When false an adapter may ask the engine for the
   * whole answer at once and yield it as one batch: one engine response instead of one per token.
   */
  stream: boolean;
  /** The bare model name the engine serves (the function id already stripped by the gateway). */
  model: string;
  /** The client's OpenAI request body, validated; `model`, `stream` and `stream_options` are set by the adapter. */
  body: Readonly<Record<string, unknown>>;
  requestId: string;
  /** Epoch milliseconds after which the request is abandoned. */
  deadline?: number;
  /** W3C trace context of the engine call, sent to the engine as its `traceparent` header (vLLM continues it). */
  traceparent?: string;
}

/** One entry of OpenAI's `delta.tool_calls`: the pieces of a call, joined by `index` across chunks. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

/** One increment of one choice: chat `delta.content` and completion `text` both land in `text`. */
export interface Delta {
  index: number;
  role?: string;
  text?: string;
  reasoning?: string;
  /** OpenAI `delta.tool_calls`, their well-formed entries (engine-values.ts). */
  toolCalls?: ToolCallDelta[];
  /** The token logprobs of this delta's text as a chat engine sent them (`choice.logprobs.content` entries), when asked for. */
  logprobs?: Record<string, unknown>[];
  finishReason?: string;
}

/**
 * Token counts as the engine reported them. A count the engine did not report is absent (never 0):
 * the worker fills it in from its own tokenizer count and records the difference where both exist.
 */
export interface Usage {
  promptTokens?: number;
  completionTokens?: number;
  /** Prompt tokens served from the engine's prefix cache. */
  cachedTokens?: number;
}

/** Load the engine itself reports (its /metrics), for the router. Absent fields are unknown. */
export interface EngineLoad {
  /** Requests the engine is generating for now. */
  running?: number;
  /** Requests queued in the engine, not yet scheduled. */
  waiting?: number;
  /** KV cache in use, 0..1. */
  kvCacheUsage?: number;
  /** Prompt tokens looked up in the prefix cache, and those found, since the engine started (counters). */
  prefixCacheQueries?: number;
  prefixCacheHits?: number;
}

/** One chat message as the client sent it (content a string or OpenAI content parts). */
export interface ChatMessage {
  role: string;
  content?: unknown;
  name?: string;
}

/**
 * Renders chat messages into one prompt string, chat template included, ending with the
 * assistant's turn: for engines whose native endpoint takes text, not messages (TGI, Triton,
 * SGLang /generate).
 */
export type ChatPromptRenderer = (messages: readonly ChatMessage[]) => string;

export type EngineEvent = { type: 'delta'; delta: Delta } | { type: 'usage'; usage: Usage };

/**
 * Mid-stream migration: what a client already received of an answer another engine started (its
 * first and only choice), for this engine to carry on from.
 */
export interface Continuation {
  /** The answer's text as delivered, exactly. */
  text: string;
  /** The tokens it took (one content delta each). */
  tokens: number;
  /** How many more tokens the answer may take (the client's limit minus `tokens`); absent when the client set none. */
  maxTokens?: number;
}

/** An embeddings request: one vector per input, in order. */
export interface EmbeddingRequest {
  /** The bare model name the engine serves. */
  model: string;
  /** Texts, or token-id arrays (never mixed), at least one: the gateway turned OpenAI's four `input` forms into one of these. */
  input: readonly string[] | readonly (readonly number[])[];
  /** The vector size asked for (matryoshka models); absent means the model's own. */
  dimensions?: number;
  /** The client's other fields (`user`, engine extras), for engines that take the OpenAI body as is. */
  body: Readonly<Record<string, unknown>>;
  requestId: string;
  /** Epoch milliseconds after which the request is abandoned. */
  deadline?: number;
  /** W3C trace context of the engine call, sent to the engine as its `traceparent` header (vLLM continues it). */
  traceparent?: string;
}

/** An engine's embeddings: `vectors[i]` is input i's, all of one length, every value finite. */
export interface Embeddings {
  vectors: number[][];
  /** Prompt tokens as the engine counted them, when it reports them. */
  usage?: Usage;
}

/** What an engine serves: every adapter generates, embeds, or both. */
export type EngineCapability = 'generate' | 'embed';

/**
 * Request fields of a generation that an engine honours (or translates) rather than every engine:
 * `tools` (with `tool_choice` `auto`/`none`), `forced-tool-choice` (`required` or a named function),
 * `response_format` (JSON mode and JSON schemas), `seed`, `logprobs` (a chat's token logprobs). A request asking for one its engine lacks
 * is a 400 `unsupported` naming the field (capabilities.ts).
 */
export type RequestFeature = 'tools' | 'forced-tool-choice' | 'response_format' | 'seed' | 'logprobs';

export interface EngineAdapter {
  readonly kind: string;
  /**
   * What this engine serves (default: generation only); a request for anything else is a 400
   * `unsupported` naming the engine (capabilities.ts).
   */
  readonly serves?: readonly EngineCapability[];
  /** The request features it takes (default: none); see {@link RequestFeature}. */
  readonly features?: readonly RequestFeature[];
  /**
   * The engine's embeddings, whole (no engine streams them). Absent when the engine has none; call
   * it through `embedWith` (capabilities.ts), which answers that case.
   */
  embed?(request: EmbeddingRequest, signal: AbortSignal): Promise<Embeddings>;
  /**
   * Streams the engine's answer. Each yielded array holds the events parsed from one read of the
   * response body, so a caller can forward them as one frame. Throws a LlmuxError (code
   * `upstream_error`, `invalid_request`, `timeout`, ...; `retryable` set) when the engine fails,
   * before or after the first event. Aborting `signal` aborts the engine request.
   */
  stream(request: EngineRequest, signal: AbortSignal): AsyncIterable<EngineEvent[]>;
  /**
   * The request that makes this engine continue `continuation` as if it had generated that text
   * itself (vLLM and SGLang chat: a final assistant message with `continue_final_message`;
   * completions: the text appended to the prompt), limited to `continuation.maxTokens`. Absent
   * when the engine cannot continue a partial answer; undefined when it cannot continue this one
   * (e.g. a prompt of token ids).
   */
  continueRequest?(request: EngineRequest, continuation: Continuation): EngineRequest | undefined;
  /**
   * Where the engine publishes its KV cache events (kv-event-source.ts), when it is configured to;
   * the worker relays them to routers. Absent: the engine publishes none.
   */
  readonly kvEvents?: KvEventSource;
  /** Whether the engine answers its health endpoint. */
  health(signal?: AbortSignal): Promise<boolean>;
  /**
   * The engine's own load signals, scraped from its metrics endpoint; undefined when the engine has
   * none or the scrape failed (never throws).
   */
  load(signal?: AbortSignal): Promise<EngineLoad | undefined>;
  /** Whether the engine has a metrics endpoint that `load` scrapes (so an undefined load is a failed scrape). */
  readonly scrapesLoad?: boolean;
  close(): Promise<void>;
}

export interface EngineAdapterOptions {
  /** Base URL of the engine, e.g. http://127.0.0.1:8000 */
  baseUrl: string;
  /** Bearer key the engine expects, if any. */
  apiKey?: string;
  /** Connections kept open to the engine. */
  connections?: number;
  /**
   * Engine-specific settings given as `--engine-option key=value` (e.g. Azure's `api-version` and
   * `deployment`). An adapter rejects keys it does not know, naming the ones it does.
   */
  settings?: Readonly<Record<string, string>>;
  /** How chat messages become a prompt for text-only endpoints. Default: ChatML. */
  chatPrompt?: ChatPromptRenderer;
}

export type EngineAdapterFactory = (options: EngineAdapterOptions) => EngineAdapter;
