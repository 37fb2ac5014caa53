/**
 * The one interface every engine adapter implements. An adapter turns an OpenAI-shaped request into
 * the engine's wire format, streams the engine's answer back as normalized events, and maps the
 * engine's failures to llmux error codes (src/errors.ts). Nothing outside src/engine-adapters/ knows
 * which engine it is talking to.
 */
export type Operation = 'chat' | 'completion';

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
}

/** One increment of one choice: chat `delta.content` and completion `text` both land in `text`. */
export interface Delta {
  index: number;
  role?: string;
  text?: string;
  reasoning?: string;
  /** OpenAI `delta.tool_calls`, passed through untouched. */
  toolCalls?: unknown[];
  finishReason?: string;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens?: number;
}

export type EngineEvent = { type: 'delta'; delta: Delta } | { type: 'usage'; usage: Usage };

export interface EngineAdapter {
  readonly kind: string;
  /**
   * Streams the engine's answer. Each yielded array holds the events parsed from one read of the
   * response body, so a caller can forward them as one frame. Throws a LlmuxError (code
   * `upstream_error`, `invalid_request`, `timeout`, ...; `retryable` set) when the engine fails,
   * before or after the first event. Aborting `signal` aborts the engine request.
   */
  stream(request: EngineRequest, signal: AbortSignal): AsyncIterable<EngineEvent[]>;
  /** Whether the engine answers its health endpoint. */
  health(signal?: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

export interface EngineAdapterOptions {
  /** Base URL of the engine, e.g. http://127.0.0.1:8000 */
  baseUrl: string;
  /** Bearer key the engine expects, if any. */
  apiKey?: string;
  /** Connections kept open to the engine. */
  connections?: number;
}

export type EngineAdapterFactory = (options: EngineAdapterOptions) => EngineAdapter;
