/**
 * Engines with an OpenAI-compatible server: vLLM, SGLang's OpenAI endpoints, trtllm-serve,
 * llama.cpp, and remote providers (OpenAI's API, Azure OpenAI's deployment paths).
 */
import { type ChatContinuation, parseSimRequest } from '../sim-request.js';
import { renderMetrics } from '../sim-metrics.js';
import { modelList, notFoundBody } from '../wire.js';
import { openAiDialect } from './openai-dialect.js';
import { type Body, type EmbedRoute, metricsReply, type Reply, type RouteEnv, type SimFormat, type SimRoute } from './sim-format.js';
import { parseEmbedRequest } from '../embeddings.js';
import { responsesDialect, responsesToChat } from './responses-dialect.js';

const MAX_MODEL_LEN = 8192;
const fastApiNotFound: Reply = { status: 404, body: notFoundBody };
const ok: Reply = { status: 200, body: '', contentType: 'text/plain' };

/** The OpenAI endpoints; `chat`: how the engine treats a final assistant message (a completion prompt always continues). */
function generation(chat: ChatContinuation, dialect = openAiDialect()): SimRoute[] {
  return [
    { method: 'POST', path: '/v1/chat/completions', generate: { dialect, parse: (body: Body) => parseSimRequest('chat', body, chat) } },
    { method: 'POST', path: '/v1/completions', generate: { dialect, parse: (body: Body) => parseSimRequest('completion', body, chat) } },
    { method: 'GET', path: '/v1/models', respond: (env: RouteEnv) => ({ status: 200, body: modelList(env.models, MAX_MODEL_LEN) }) },
  ];
}

const float32Base64 = (v: readonly number[]): string => {
  const bytes = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
  return bytes.toString('base64');
};

/** POST /v1/embeddings as vLLM, llama.cpp and OpenAI answer it (floats, or base64 float32 when asked). */
const openAiEmbeddings: EmbedRoute = {
  dialect: openAiDialect(),
  parse: (body: Body) => parseEmbedRequest(body, 'input'),
  answer: ({ vectors, tokens }, model, body) => ({
    status: 200,
    body: {
      object: 'list',
      data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: body.encoding_format === 'base64' ? float32Base64(v) : v })),
      model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
  }),
};

const embeddingsRoute: SimRoute = { method: 'POST', path: '/v1/embeddings', embed: openAiEmbeddings };

/** POST /v1/responses, as vLLM and OpenAI serve it (responses-dialect.ts). */
const responsesRoute = (chat: ChatContinuation): SimRoute => ({
  method: 'POST', path: '/v1/responses', generate: { dialect: responsesDialect(), parse: (body: Body) => parseSimRequest('chat', responsesToChat(body), chat) },
});

const vllmMetrics = (env: RouteEnv): Reply => metricsReply(renderMetrics(env.servedModel, env.counters, env.gauges));

export const vllm: SimFormat = {
  name: 'vllm',
  routes: [...generation('continue-final-message'), responsesRoute('continue-final-message'), embeddingsRoute, { method: 'GET', path: '/health', respond: () => ok }, { method: 'GET', path: '/metrics', respond: vllmMetrics }],
  notFound: fastApiNotFound,
  errors: openAiDialect(),
};

function sglangMetrics(env: RouteEnv): Reply {
  const l = `{model_name="${env.servedModel}"}`;
  return metricsReply([
    '# TYPE sglang:num_running_reqs gauge', `sglang:num_running_reqs${l} ${env.gauges.running}`,
    '# TYPE sglang:num_queue_reqs gauge', `sglang:num_queue_reqs${l} ${env.gauges.waiting}`,
    '# TYPE sglang:token_usage gauge', `sglang:token_usage${l} ${env.gauges.kvCacheUsage}`,
    '',
  ].join('\n'));
}

/** SGLang's server (its native /generate is added by sglang-generate.ts). */
export const sglangOpenAi: SimFormat = {
  name: 'sglang',
  routes: [
    ...generation('continue-final-message', openAiDialect('flat')),
    { method: 'GET', path: '/health', respond: () => ok },
    { method: 'GET', path: '/get_model_info', respond: (env) => ({ status: 200, body: { model_path: env.servedModel, is_generation: true } }) },
    { method: 'GET', path: '/metrics', respond: sglangMetrics },
  ],
  notFound: fastApiNotFound,
  errors: openAiDialect('flat'),
};

export const trtllm: SimFormat = {
  name: 'trtllm',
  routes: [...generation('none'), { method: 'GET', path: '/health', respond: () => ok }],
  notFound: fastApiNotFound,
  errors: openAiDialect(),
};

export const llamacpp: SimFormat = {
  name: 'llamacpp',
  routes: [
    ...generation('trailing-assistant'),
    embeddingsRoute,
    { method: 'GET', path: '/health', respond: () => ({ status: 200, body: { status: 'ok' } }) },
    {
      method: 'GET', path: '/metrics',
      respond: (env) => metricsReply([
        '# TYPE llamacpp:requests_processing gauge', `llamacpp:requests_processing ${env.gauges.running}`,
        '# TYPE llamacpp:requests_deferred gauge', `llamacpp:requests_deferred ${env.gauges.waiting}`,
        '# TYPE llamacpp:kv_cache_usage_ratio gauge', `llamacpp:kv_cache_usage_ratio ${env.gauges.kvCacheUsage}`,
        '',
      ].join('\n')),
    },
  ],
  notFound: { status: 404, body: { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } } },
  errors: openAiDialect(),
};

const invalidKey: Reply = {
  status: 401,
  body: { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
};

/** OpenAI's API (and Mistral, Groq…): a bearer key on every request, the models list as health. */
export const openai: SimFormat = {
  name: 'openai',
  routes: [...generation('none'), responsesRoute('none'), embeddingsRoute],
  notFound: { status: 404, body: { error: { message: 'Invalid URL', type: 'invalid_request_error', param: null, code: null } } },
  check: (headers, _query, apiKey) => (apiKey !== undefined && headers.authorization !== `Bearer ${apiKey}` ? invalidKey : undefined),
  errors: openAiDialect(),
};

/** Azure OpenAI: deployment paths, an `api-version` query parameter, the key in an `api-key` header. */
export const azureOpenAi: SimFormat = {
  name: 'azure-openai',
  routes: [
    { ...generation('none')[0]!, path: /^\/openai\/deployments\/([^/]+)\/chat\/completions$/ },
    { ...generation('none')[1]!, path: /^\/openai\/deployments\/([^/]+)\/completions$/ },
    { ...embeddingsRoute, path: /^\/openai\/deployments\/([^/]+)\/embeddings$/ },
    { method: 'GET', path: '/openai/models', respond: (env) => ({ status: 200, body: modelList(env.models, MAX_MODEL_LEN) }) },
  ],
  notFound: { status: 404, body: { error: { code: '404', message: 'Resource not found' } } },
  check(headers, query, apiKey) {
    if (apiKey !== undefined && headers['api-key'] !== apiKey) {
      return { status: 401, body: { error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint.' } } };
    }
    if (!query.get('api-version')) return { status: 404, body: { error: { code: '404', message: 'Resource not found' } } };
    return undefined;
  },
  errors: openAiDialect(),
};

