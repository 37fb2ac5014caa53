/**
 * The shared base for engines with an OpenAI-compatible server (vLLM, SGLang, trtllm-serve,
 * llama.cpp, remote providers): a new one is a few lines on top of this. Streams from the engine
 * with usage requested when the client streams, asks for the whole answer otherwise (one response
 * instead of one event per token, as EngineRequest.stream allows). Embeddings where `paths.embeddings`
 * says the engine has them, and the Responses API natively where `paths.responses` does.
 */
import type { EngineAdapter, EngineAdapterOptions, EngineRequest } from './adapter.js';
import type { ContinuationSupport } from './continuation.js';
import { allRequestFeatures } from './capabilities.js';
import { createHttpAdapter } from './http-adapter.js';
import { readEventStream, readWholeAnswer } from './openai-body.js';
import { openAiEmbeddingsBody, readOpenAiEmbeddings } from './embeddings-body.js';
import { bearerAuth } from './native-request.js';
import { readResponsesStream, readWholeResponse, responsesBody } from './responses-body.js';
import { type LoadMetricNames, readLoad } from './prometheus-text.js';

export interface OpenAiPaths {
  /** Path (and query) of chat completions for a model. */
  chat: (model: string) => string;
  completion: (model: string) => string;
  /** Where it serves embeddings, when it does. */
  embeddings?: (model: string) => string;
  /** Where it serves the Responses API, when it does (responses-body.ts). */
  responses?: string;
  health: string;
}

export interface OpenAiCompatibleOptions extends EngineAdapterOptions {
  /** The adapter's `kind`, also named in error messages. */
  kind: string;
  /** Where the engine serves each endpoint, when not at the OpenAI paths. */
  paths?: Partial<OpenAiPaths>;
  /** The header carrying the key (default `authorization: Bearer <key>`). */
  keyHeader?: (key: string) => Record<string, string>;
  /** The engine's load metric names on GET /metrics, when it has them. */
  loadMetrics?: LoadMetricNames;
  /** How the engine continues a partial answer (continuation.ts); absent when it cannot (hosted providers). */
  continuation?: ContinuationSupport;
}

const openAiPaths: OpenAiPaths = { chat: () => '/v1/chat/completions', completion: () => '/v1/completions', health: '/health' };

export function createOpenAiCompatibleAdapter(options: OpenAiCompatibleOptions): EngineAdapter {
  const paths: OpenAiPaths = { ...openAiPaths, ...options.paths };
  const { loadMetrics, continuation } = options;
  const embeddingsPath = paths.embeddings;
  return createHttpAdapter({
    kind: options.kind,
    options,
    headers: options.keyHeader && options.apiKey ? options.keyHeader(options.apiKey) : bearerAuth(options.apiKey),
    healthPath: paths.health,
    // The client's body goes as it is: tools, tool_choice, response_format and seed with it.
    features: allRequestFeatures,
    call: (request: EngineRequest) => ({
      path: request.operation === 'chat' ? paths.chat(request.model) : paths.completion(request.model),
      body: request.stream
        ? { ...request.body, model: request.model, stream: true, stream_options: { include_usage: true } }
        : { ...request.body, model: request.model, stream: false },
      accept: request.stream ? 'text/event-stream' : 'application/json',
    }),
    read: (request, body) => (request.stream ? readEventStream(options.kind, body) : wholeAnswer(options.kind, body)),
    ...(loadMetrics ? { metrics: { path: '/metrics', read: (text: string) => readLoad(text, loadMetrics) } } : {}),
    ...(continuation ? { continuation } : {}),
    ...(paths.responses ? {
      responses: {
        call: (request) => ({ path: paths.responses as string, body: responsesBody(request), accept: request.stream ? 'text/event-stream' : 'application/json' }),
        read: (request, body) => (request.stream ? readResponsesStream(options.kind, body) : wholeResponse(options.kind, body)),
      },
    } : {}),
    ...(embeddingsPath ? {
      embeddings: {
        call: (request) => ({ path: embeddingsPath(request.model), body: openAiEmbeddingsBody(request), accept: 'application/json' }),
        read: (request, text) => readOpenAiEmbeddings(options.kind, request, text),
      },
    } : {}),
  });
}

async function* wholeAnswer(kind: string, body: { text(): Promise<string> }) {
  yield await readWholeAnswer(kind, body);
}

async function* wholeResponse(kind: string, body: { text(): Promise<string> }) {
  yield await readWholeResponse(kind, body);
}
