// Every registered adapter replayed against recorded-style transcripts of its engine's wire format,
// served over real HTTP on loopback and written 1 byte, 7 bytes and all at once per read, so events
// and multi-byte UTF-8 characters split across reads. (vllm.contract.test.ts holds vLLM's own,
// more detailed cases.)
import { describe, expect, it } from 'vitest';
import type { EmbeddingRequest, EngineAdapter, EngineEvent, EngineRequest, Usage } from './adapter.js';
import { embedWith } from './capabilities.js';
import { fixture } from './fixtures/replay-server.js';
import { replayAdapters } from './fixtures/replay-adapters.js';
import { createEngineAdapter, type EngineKind, engineKinds, engineKindsServing } from './registry.js';

const engines = replayAdapters({ apiKey: 'sk-engine' });
const adapter = engines.adapter;

const request = (operation: 'chat' | 'completion' = 'chat'): EngineRequest => ({
  operation, stream: true, model: 'm', requestId: 'r1',
  body: operation === 'chat'
    ? { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }], max_tokens: 3 }
    : { prompt: 'Once upon', max_tokens: 3 },
});

interface Outcome {
  text: string;
  finish: string | undefined;
  usage: Usage | undefined;
  error: { code?: string; retryable?: boolean } | undefined;
}

async function replay(kind: EngineKind, file: string, options: { status?: number; piece?: number; cut?: boolean } = {}): Promise<Outcome> {
  engines.server().reply = { status: options.status ?? 200, body: fixture(kind, file), ...(options.piece ? { piece: options.piece } : {}), ...(options.cut ? { cut: true } : {}) };
  const events: EngineEvent[] = [];
  let error: Outcome['error'];
  try {
    for await (const batch of adapter(kind).stream(request(), new AbortController().signal)) events.push(...batch);
  } catch (e) {
    const info = e as { code?: string; retryable?: boolean };
    error = { code: info.code, retryable: info.retryable };
  }
  const usages = events.filter((e) => e.type === 'usage').map((e) => e.usage);
  return {
    text: events.map((e) => (e.type === 'delta' ? (e.delta.text ?? '') : '')).join(''),
    finish: events.map((e) => (e.type === 'delta' ? e.delta.finishReason : undefined)).filter(Boolean).at(-1),
    usage: usages.length > 0 ? Object.assign({}, ...usages) : undefined,
    error,
  };
}

const full = 'Hello wörld €!';
const upstream = { code: 'upstream_error', retryable: true };
const invalid = { code: 'invalid_request', retryable: false };

/** Per kind: the normal stream (text, finish, the usage the engine reports), errors, cuts. */
type GeneratingKind = Exclude<EngineKind, 'tei'>;
const contracts: Record<GeneratingKind, {
  stream: { file: string; finish: string; usage: Usage | undefined }[];
  errors: { file: string; status: number; error: typeof upstream }[];
  cut: { file: string; text: string };
  errorAfter200?: string;
}> = {
  vllm: { stream: [{ file: 'chat-stream-usage.sse', finish: 'stop', usage: { promptTokens: 12, completionTokens: 4, cachedTokens: 8 } }],
    errors: [{ file: 'error-400-current.json', status: 400, error: invalid }, { file: 'error-500.json', status: 500, error: upstream }],
    cut: { file: 'chat-cut.sse', text: 'half' }, errorAfter200: 'chat-error-after-200.sse' },
  sglang: { stream: [{ file: 'chat-stream.sse', finish: 'stop', usage: { promptTokens: 9, completionTokens: 3 } }],
    errors: [{ file: 'error-400.json', status: 400, error: invalid }], cut: { file: 'chat-cut.sse', text: 'Hello' } },
  'sglang-generate': { stream: [{ file: 'generate-stream.sse', finish: 'length', usage: { promptTokens: 9, completionTokens: 3, cachedTokens: 4 } }],
    errors: [{ file: 'error-400.json', status: 400, error: invalid }], cut: { file: 'generate-cut.sse', text: 'Hello' } },
  trtllm: { stream: [{ file: 'chat-stream.sse', finish: 'stop', usage: { promptTokens: 9, completionTokens: 3 } }],
    errors: [{ file: 'error-400.json', status: 400, error: invalid }], cut: { file: 'chat-cut.sse', text: 'Hello' } },
  llamacpp: { stream: [{ file: 'chat-stream.sse', finish: 'stop', usage: { promptTokens: 9, completionTokens: 3 } }],
    errors: [{ file: 'error-400.json', status: 400, error: invalid }], cut: { file: 'chat-cut.sse', text: 'Hello' } },
  tgi: {
    stream: [
      { file: 'generate-stream.sse', finish: 'length', usage: { completionTokens: 3 } },
      { file: 'generate-stream-no-details.sse', finish: 'stop', usage: undefined },
    ],
    errors: [{ file: 'error-422.json', status: 422, error: invalid }, { file: 'error-429.json', status: 429, error: upstream }],
    cut: { file: 'generate-cut.sse', text: 'Hello wörld' }, errorAfter200: 'generate-error-after-200.sse' },
  triton: { stream: [{ file: 'generate-stream.sse', finish: 'length', usage: undefined }],
    errors: [{ file: 'error-400.json', status: 400, error: invalid }], cut: { file: 'generate-cut.sse', text: 'Hello' }, errorAfter200: 'generate-error-after-200.sse' },
  ollama: {
    stream: [
      { file: 'chat-stream.ndjson', finish: 'length', usage: { promptTokens: 9, completionTokens: 3 } },
      { file: 'chat-stream-crlf.ndjson', finish: 'length', usage: { promptTokens: 9, completionTokens: 3 } },
    ],
    errors: [{ file: 'error-404.json', status: 404, error: upstream }], cut: { file: 'chat-cut.ndjson', text: 'Hello wörld' }, errorAfter200: 'chat-error-after-200.ndjson' },
  openai: { stream: [{ file: 'chat-stream.sse', finish: 'stop', usage: { promptTokens: 9, completionTokens: 3 } }],
    errors: [{ file: 'error-400.json', status: 400, error: invalid }], cut: { file: 'chat-cut.sse', text: 'Hello' } },
  'azure-openai': { stream: [{ file: 'chat-stream.sse', finish: 'stop', usage: { promptTokens: 9, completionTokens: 3 } }],
    errors: [{ file: 'error-400.json', status: 400, error: invalid }], cut: { file: 'chat-cut.sse', text: 'Hello' } },
  anthropic: { stream: [{ file: 'messages-stream.sse', finish: 'length', usage: { promptTokens: 13, cachedTokens: 4, completionTokens: 3 } }],
    errors: [{ file: 'error-400.json', status: 400, error: invalid }, { file: 'error-529.json', status: 529, error: upstream }],
    cut: { file: 'messages-cut.sse', text: 'Hello' }, errorAfter200: 'messages-error-after-200.sse' },
};

describe.each(Object.keys(contracts) as GeneratingKind[])('%s adapter - contract against its transcripts', (kind) => {
  const c = contracts[kind];
  for (const s of c.stream) {
    for (const piece of [1, 7, 0]) {
      it(`normalizes ${s.file}, written ${piece || 'all'} byte(s) per read`, async () => {
        const out = await replay(kind, s.file, { piece });
        expect(out.error).toBeUndefined();
        expect(out.text).toBe(kind === 'vllm' ? 'Hello wörld €!' : full);
        expect(out.finish).toBe(s.finish);
        expect(out.usage).toEqual(s.usage);
      });
    }
  }
  for (const e of c.errors) {
    it(`maps an HTTP ${e.status} answer (${e.file}) to ${e.error.code}, retryable ${e.error.retryable}`, async () => {
      const out = await replay(kind, e.file, { status: e.status });
      expect(out.error).toEqual(e.error);
      expect(out.text).toBe('');
    });
  }
  it(`yields what came before a cut, then a retryable upstream_error (${c.cut.file})`, async () => {
    const out = await replay(kind, c.cut.file, { cut: true, piece: 5 });
    expect(out.text).toBe(c.cut.text);
    expect(out.error).toEqual(upstream);
  });
  it.runIf(c.errorAfter200 !== undefined)('turns an error event after the 200 into a retryable upstream_error, after the text before it', async () => {
    const out = await replay(kind, c.errorAfter200!, { piece: 3 });
    expect(out.text.length).toBeGreaterThan(0);
    expect(out.error).toEqual(upstream);
  });
});

describe('adapters - what each sends to its engine', () => {
  const sent = async (kind: GeneratingKind, operation: 'chat' | 'completion' = 'chat') => {
    await replay(kind, contracts[kind].stream[0]!.file);
    const r = engines.server().last!;
    await adapter(kind).stream(request(operation), new AbortController().signal)[Symbol.asyncIterator]().return?.();
    return r;
  };

  it('sglang-generate posts the chat rendered as ChatML text with sampling_params', async () => {
    const r = await sent('sglang-generate');
    expect(r.path).toBe('/generate');
    expect(r.body).toMatchObject({ text: '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n', sampling_params: { max_new_tokens: 3 }, stream: true });
  });

  it('tgi posts inputs with max_new_tokens and asks for details', async () => {
    const r = await sent('tgi');
    expect(r.path).toBe('/generate_stream');
    expect(r.body).toMatchObject({ parameters: { max_new_tokens: 3, details: true } });
    expect(r.body?.inputs).toContain('<|im_start|>user\nhi');
  });

  it('triton posts text_input to the model path', async () => {
    const r = await sent('triton');
    expect(r.path).toBe('/v2/models/m/generate_stream');
    expect(r.body).toMatchObject({ max_tokens: 3, stream: true });
  });

  it('ollama posts the messages with options.num_predict', async () => {
    const r = await sent('ollama');
    expect(r.path).toBe('/api/chat');
    expect(r.body).toMatchObject({ model: 'm', stream: true, options: { num_predict: 3 }, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }] });
  });

  it('anthropic moves system messages to `system`, sends its key and version headers', async () => {
    const r = await sent('anthropic');
    expect(r.path).toBe('/v1/messages');
    expect(r.body).toMatchObject({ model: 'm', system: 'Be brief.', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true });
    expect(r.headers['x-api-key']).toBe('sk-engine');
    expect(r.headers['anthropic-version']).toBe('2023-06-01');
  });

  it('azure-openai uses the deployment path, the api-version and the api-key header', async () => {
    const r = await sent('azure-openai');
    expect(r.path).toBe('/openai/deployments/m/chat/completions?api-version=2024-10-21');
    expect(r.headers['api-key']).toBe('sk-engine');
    expect(r.headers.authorization).toBeUndefined();
  });

  it('openai sends the bearer key and checks health on /v1/models', async () => {
    const r = await sent('openai');
    expect(r.headers.authorization).toBe('Bearer sk-engine');
    await adapter('openai').health();
    expect(engines.server().last).toMatchObject({ method: 'GET', path: '/v1/models' });
  });

  it('rejects settings an adapter does not know, naming the ones it does', () => {
    expect(() => createEngineAdapter('azure-openai', { baseUrl: engines.server().baseUrl, settings: { 'api-verison': 'x' } })).toThrow(/no setting 'api-verison': its settings are api-version, deployment/);
    expect(() => createEngineAdapter('vllm', { baseUrl: engines.server().baseUrl, settings: { x: '1' } })).toThrow(/no setting 'x': its settings are kv-events, kv-events-topic, kv-events-block-size/);
    expect(() => createEngineAdapter('tgi', { baseUrl: engines.server().baseUrl, settings: { x: '1' } })).toThrow(/takes none/);
  });
});

describe('adapters - engine load from /metrics', () => {
  it('reads vLLM (current and older KV names), SGLang and llama.cpp load signals', async () => {
    engines.server().metricsText = [
      '# HELP vllm:num_requests_running x', '# TYPE vllm:num_requests_running gauge',
      'vllm:num_requests_running{model_name="m",engine="0"} 3', 'vllm:num_requests_running{model_name="m",engine="1"} 2',
      'vllm:num_requests_waiting{model_name="m",engine="0"} 7', 'vllm:gpu_cache_usage_perc{model_name="m"} 0.25',
      'sglang:num_running_reqs{model_name="m"} 4', 'sglang:num_queue_reqs{model_name="m"} 1', 'sglang:token_usage{model_name="m"} 0.5',
      'llamacpp:requests_processing 1', 'llamacpp:requests_deferred 0', 'llamacpp:kv_cache_usage_ratio NaN',
    ].join('\n');
    try {
      expect(await adapter('vllm').load()).toEqual({ running: 5, waiting: 7, kvCacheUsage: 0.25 });
      expect(await adapter('sglang').load()).toEqual({ running: 4, waiting: 1, kvCacheUsage: 0.5 });
      expect(await adapter('llamacpp').load()).toEqual({ running: 1, waiting: 0 });
      expect(await adapter('tgi').load()).toBeUndefined();
    } finally {
      engines.server().metricsText = undefined;
    }
  });
});

const embedRequest = (input: EmbeddingRequest['input'] = ['hello wörld', 'bye'], extra: Partial<EmbeddingRequest> = {}): EmbeddingRequest => ({
  model: 'm', input, requestId: 'e1', body: { input, user: 'u1', encoding_format: 'base64' }, ...extra,
});

async function embedReplay(kind: EngineKind, file: string, options: { status?: number; headers?: Record<string, string> } = {}, request = embedRequest()) {
  engines.server().reply = { status: options.status ?? 200, body: fixture(kind, file), ...(options.headers ? { headers: options.headers } : {}) };
  try {
    return { result: await embedWith(adapter(kind), request, new AbortController().signal), error: undefined };
  } catch (e) {
    const info = e as { code?: string; retryable?: boolean; message?: string };
    return { result: undefined, error: { code: info.code, retryable: info.retryable }, message: info.message };
  }
}

/** The vectors every embed.json transcript holds, in input order. */
const vectors = [[0.125, 1e-7, -1], [0.5, -0.25, 0]];

/** Per embedding engine: where it is asked, what the body holds, the usage it reports, an error answer. */
const embedContracts: Partial<Record<EngineKind, {
  path: string; body: Record<string, unknown>; usage: Usage | undefined; headers?: Record<string, string>;
  error: { file: string; status: number; error: typeof upstream };
}>> = {
  vllm: { path: '/v1/embeddings', body: { model: 'm', input: ['hello wörld', 'bye'], encoding_format: 'float', user: 'u1', dimensions: 3 }, usage: { promptTokens: 5 },
    error: { file: 'error-400-current.json', status: 400, error: invalid } },
  llamacpp: { path: '/v1/embeddings', body: { model: 'm', input: ['hello wörld', 'bye'], encoding_format: 'float', dimensions: 3 }, usage: { promptTokens: 5 },
    error: { file: 'error-400.json', status: 400, error: invalid } },
  openai: { path: '/v1/embeddings', body: { model: 'm', input: ['hello wörld', 'bye'], encoding_format: 'float', dimensions: 3 }, usage: { promptTokens: 5 },
    error: { file: 'error-400.json', status: 400, error: invalid } },
  'azure-openai': { path: '/openai/deployments/m/embeddings?api-version=2024-10-21', body: { input: ['hello wörld', 'bye'], encoding_format: 'float', dimensions: 3 },
    usage: { promptTokens: 5 }, error: { file: 'error-400.json', status: 400, error: invalid } },
  ollama: { path: '/api/embed', body: { model: 'm', input: ['hello wörld', 'bye'], dimensions: 3 }, usage: { promptTokens: 5 },
    error: { file: 'error-404.json', status: 404, error: upstream } },
  tei: { path: '/embed', body: { inputs: ['hello wörld', 'bye'], dimensions: 3 }, usage: { promptTokens: 5 }, headers: { 'x-compute-tokens': '5' },
    error: { file: 'error-413.json', status: 413, error: invalid } },
};

describe('adapters - embeddings contracts', () => {
  it('has an embeddings contract for every engine that embeds, and none for the others', () => {
    expect(Object.keys(embedContracts).sort()).toEqual(engineKindsServing('embed').sort());
    expect(Object.keys(contracts).sort()).toEqual(engineKindsServing('generate').sort());
  });

  describe.each(Object.keys(embedContracts) as EngineKind[])('%s', (kind) => {
    const c = embedContracts[kind]!;
    it(`posts to ${c.path} and reads one vector per input, in input order, with the usage it reports`, async () => {
      const out = await embedReplay(kind, 'embed.json', c.headers ? { headers: c.headers } : {}, embedRequest(undefined, { dimensions: 3 }));
      expect(out.error).toBeUndefined();
      expect(out.result?.vectors).toEqual(vectors);
      expect(out.result?.usage).toEqual(c.usage);
      const sent = engines.server().last!;
      expect(sent.path).toBe(c.path);
      expect(sent.body).toMatchObject(c.body);
      // base64 is the gateway's rendering: the engine is always asked for floats (or for its own default).
      expect(sent.body?.encoding_format ?? 'float').toBe('float');
    });

    it(`maps an HTTP ${c.error.status} answer (${c.error.file}) to ${c.error.error.code}`, async () => {
      const out = await embedReplay(kind, c.error.file, { status: c.error.status });
      expect(out.error).toEqual(c.error.error);
    });

    it('refuses an answer that is not one finite vector per input, all of one length (retryable upstream_error)', async () => {
      const out = await embedReplay(kind, 'embed-short.json');
      expect(out.error).toEqual(upstream);
    });
  });

  it('ollama refuses token-id inputs with a 400 naming the engine, without calling it', async () => {
    const before = engines.server().received.length;
    const out = await embedReplay('ollama', 'embed.json', {}, embedRequest([[1, 2], [3]]));
    expect(out.error).toEqual({ code: 'unsupported', retryable: false });
    expect(out.message).toMatch(/ollama/);
    expect(engines.server().received.length).toBe(before);
  });

  it('tei passes token-id inputs on as they are', async () => {
    await embedReplay('tei', 'embed.json', {}, embedRequest([[101, 7592, 102], [101, 102]]));
    expect(engines.server().last?.body).toMatchObject({ inputs: [[101, 7592, 102], [101, 102]] });
  });

  it.each(engineKinds().filter((k) => !(k in embedContracts)))('%s answers embeddings with a 400 unsupported naming the engine, without calling it', async (kind) => {
    const before = engines.server().received.length;
    const error = await embedWith(adapter(kind), embedRequest(), new AbortController().signal).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'unsupported', retryable: false, message: expect.stringContaining(`the ${kind} engine`) });
    expect(engines.server().received.length).toBe(before);
  });

  it('tei answers a chat request with a 400 unsupported naming the engine', async () => {
    const events: unknown[] = [];
    await expect((async () => {
      for await (const batch of adapter('tei').stream(request(), new AbortController().signal)) events.push(...batch);
    })()).rejects.toMatchObject({ code: 'unsupported', message: expect.stringContaining('the tei engine') });
    expect(events).toEqual([]);
  });
});
