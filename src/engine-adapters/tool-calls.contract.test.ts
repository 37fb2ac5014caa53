// Tool calls through every adapter: each engine's tool-call transcript (two parallel calls, their
// arguments in pieces, interleaved on the OpenAI wire) replayed 1 byte, 7 bytes and all at once per
// read, joined by index into whole calls; what each adapter sends for tools, tool_choice,
// response_format and seed; and the 400 `unsupported` of an engine that cannot do one, before it is
// called.
import { describe, expect, it } from 'vitest';
import type { Delta, EngineEvent, EngineRequest, ToolCallDelta } from './adapter.js';
import { featuresAsked } from './capabilities.js';
import { fixture } from './fixtures/replay-server.js';
import { replayAdapters } from './fixtures/replay-adapters.js';
import { type EngineKind, engineKinds, engineKindsServing } from './registry.js';

const engines = replayAdapters({ apiKey: 'sk-engine' });

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'The weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } } },
];

const request = (extra: Record<string, unknown> = {}): EngineRequest => ({
  operation: 'chat', stream: true, model: 'm', requestId: 'r1',
  body: { messages: [{ role: 'user', content: 'weather and time?' }], max_tokens: 50, tools, ...extra },
});

interface Call { id?: string; type?: string; name: string; arguments: string }

/** Tool-call deltas joined by index, as a client joins them. */
function joinCalls(deltas: readonly Delta[]): Call[] {
  const calls = new Map<number, Call>();
  for (const t of deltas.flatMap((d): ToolCallDelta[] => d.toolCalls ?? [])) {
    const call = calls.get(t.index) ?? { name: '', arguments: '' };
    if (t.id) call.id = t.id;
    if (t.type) call.type = t.type;
    call.name += t.function?.name ?? '';
    call.arguments += t.function?.arguments ?? '';
    calls.set(t.index, call);
  }
  return [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
}

async function replay(kind: EngineKind, body: Buffer, piece: number, req = request()) {
  engines.server().reply = { status: 200, body, ...(piece ? { piece } : {}) };
  const events: EngineEvent[] = [];
  for await (const batch of engines.adapter(kind).stream(req, new AbortController().signal)) events.push(...batch);
  const deltas = events.flatMap((e) => (e.type === 'delta' ? [e.delta] : []));
  return { deltas, calls: joinCalls(deltas), text: deltas.map((d) => d.text ?? '').join(''), finish: deltas.map((d) => d.finishReason).filter(Boolean).at(-1) };
}

/** The engines that take tools, and the transcript each is replayed from. */
const transcripts: Partial<Record<EngineKind, { file: Buffer; text: string; ids: [string, string] | 'made' }>> = {};
for (const kind of ['vllm', 'sglang', 'trtllm', 'llamacpp', 'openai', 'azure-openai'] as const) {
  transcripts[kind] = { file: fixture('vllm', 'chat-tool-calls-parallel.sse'), text: '', ids: ['call_w', 'call_t'] };
}
transcripts.anthropic = { file: fixture('anthropic', 'messages-tool-use.sse'), text: 'Let me look.', ids: ['toolu_01W', 'toolu_01T'] };
transcripts.ollama = { file: fixture('ollama', 'chat-tool-calls.ndjson'), text: 'Let me look.', ids: 'made' };

const noTools = ['tgi', 'triton', 'sglang-generate'] as const;

describe.each(Object.keys(transcripts) as EngineKind[])('%s adapter - tool-call streams', (kind) => {
  const t = transcripts[kind]!;
  for (const piece of [1, 7, 0]) {
    it(`joins two parallel calls, arguments in pieces, written ${piece || 'all'} byte(s) per read; finish tool_calls`, async () => {
      const out = await replay(kind, t.file, piece);
      expect(out.text).toBe(t.text);
      expect(out.finish).toBe('tool_calls');
      expect(out.calls).toEqual([
        { id: t.ids === 'made' ? expect.stringMatching(/^call_\w+/) : t.ids[0], type: 'function', name: 'get_weather', arguments: expect.any(String) },
        { id: t.ids === 'made' ? 'call_t' : t.ids[1], type: 'function', name: 'get_time', arguments: expect.any(String) },
      ]);
      expect(out.calls.map((c) => JSON.parse(c.arguments) as unknown)).toEqual([{ city: 'Parïs €' }, { zone: 'CET' }]);
      // id, type and name come once per call; only arguments come in pieces.
      for (const field of ['id', 'type'] as const) expect(out.deltas.flatMap((d) => d.toolCalls ?? []).filter((c) => c[field] !== undefined).length).toBe(2);
    });
  }
});

describe('openai-compatible adapters - chat logprobs', () => {
  it('relays each chunk\'s logprobs.content entries with its text, and drops ill-formed ones', async () => {
    const out = await replay('vllm', fixture('vllm', 'chat-logprobs.sse'), 7, request({ logprobs: true, top_logprobs: 1 }));
    const withLogprobs = out.deltas.filter((d) => d.logprobs);
    expect(withLogprobs.map((d) => d.logprobs!.map((e) => e.token).join(''))).toEqual(['Hello', ' wörld']);
    expect(withLogprobs[0]?.logprobs?.[0]).toEqual({ token: 'Hello', logprob: -0.01, bytes: [72, 101, 108, 108, 111], top_logprobs: [{ token: 'Hello', logprob: -0.01, bytes: [72, 101, 108, 108, 111] }] });
    expect(out.text).toBe('Hello wörld €!');
    expect(out.deltas.find((d) => d.text === ' €!')?.logprobs).toBeUndefined(); // its entry has no numeric logprob
  });
});

describe('adapters - tool requests as each engine takes them', () => {
  const sent = async (kind: EngineKind, extra: Record<string, unknown>) => {
    const t = transcripts[kind];
    await replay(kind, t?.file ?? fixture(kind, kind === 'tgi' || kind === 'triton' || kind === 'sglang-generate' ? 'generate-stream.sse' : 'chat-stream.sse'), 0, request(extra));
    return engines.server().last!.body!;
  };

  it.each(['vllm', 'sglang', 'trtllm', 'llamacpp', 'openai', 'azure-openai'] as const)('%s passes tools, tool_choice, response_format and seed on as the client sent them', async (kind) => {
    const extra = { tool_choice: { type: 'function', function: { name: 'get_time' } }, parallel_tool_calls: false, seed: 7, response_format: { type: 'json_object' } };
    expect(await sent(kind, extra)).toMatchObject({ tools, ...extra });
  });

  it('anthropic translates tools to input_schema, tool_choice to its own and parallel_tool_calls false to disable_parallel_tool_use', async () => {
    const body = await sent('anthropic', { tool_choice: 'required', parallel_tool_calls: false });
    expect(body.tools).toEqual([
      { name: 'get_weather', description: 'The weather', input_schema: tools[0]!.function.parameters },
      { name: 'get_time', input_schema: tools[1]!.function.parameters },
    ]);
    expect(body.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect((await sent('anthropic', { tool_choice: { type: 'function', function: { name: 'get_time' } } })).tool_choice).toEqual({ type: 'tool', name: 'get_time' });
    expect((await sent('anthropic', {})).tool_choice).toEqual({ type: 'auto' });
    expect((await sent('anthropic', { tool_choice: 'none' })).tool_choice).toEqual({ type: 'none' });
  });

  it('anthropic sends an assistant\'s tool calls as tool_use blocks and tool results as one user turn of tool_result blocks', async () => {
    const messages = [
      { role: 'user', content: 'weather and time?' },
      { role: 'assistant', content: null, tool_calls: [
        { id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'call_t', type: 'function', function: { name: 'get_time', arguments: '{"zone":"CET"}' } },
      ] },
      { role: 'tool', tool_call_id: 'call_w', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_t', content: '12:00' },
    ];
    const body = await sent('anthropic', { messages });
    expect(body.messages).toEqual([
      { role: 'user', content: 'weather and time?' },
      { role: 'assistant', content: [
        { type: 'tool_use', id: 'call_w', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_t', name: 'get_time', input: { zone: 'CET' } },
      ] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_w', content: 'sunny' }, { type: 'tool_result', tool_use_id: 'call_t', content: '12:00' }] },
    ]);
  });

  it('ollama sends tools, a JSON schema as format, seed in options, and tool-call arguments as objects', async () => {
    const schema = { type: 'object', properties: { a: { type: 'number' } } };
    const messages = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_time', arguments: '{"zone":"CET"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '12:00' },
    ];
    const body = await sent('ollama', { messages, seed: 3, response_format: { type: 'json_schema', json_schema: { name: 'a', schema } } });
    expect(body).toMatchObject({ tools, format: schema, options: { seed: 3 } });
    expect((body.messages as Array<{ tool_calls?: unknown }>)[1]?.tool_calls).toEqual([{ id: 'c1', type: 'function', function: { name: 'get_time', arguments: { zone: 'CET' } } }]);
    expect((await sent('ollama', { response_format: { type: 'json_object' } })).format).toBe('json');
    expect((await sent('ollama', { tool_choice: 'none' })).tools).toBeUndefined();
  });

  it('tgi asks for JSON as its grammar; sglang-generate as sampling_params.json_schema', async () => {
    const schema = { type: 'object', properties: { a: { type: 'number' } } };
    const format = { response_format: { type: 'json_schema', json_schema: { name: 'a', schema } }, tools: undefined };
    expect(await sent('tgi', format)).toMatchObject({ parameters: { grammar: { type: 'json', value: schema } } });
    expect(await sent('sglang-generate', format)).toMatchObject({ sampling_params: { json_schema: JSON.stringify(schema) } });
  });
});

describe('adapters - what an engine cannot do is a 400 unsupported naming the engine and the field, before it is called', () => {
  const refusal = async (kind: EngineKind, extra: Record<string, unknown>) => {
    const before = engines.server().received.length;
    const error = await (async () => {
      for await (const batch of engines.adapter(kind).stream(request(extra), new AbortController().signal)) void batch;
    })().then(() => undefined, (e: unknown) => e);
    expect(engines.server().received.length).toBe(before);
    return error;
  };

  it('has a tool-call transcript for every engine whose adapter takes tools, and refusals for the other generating ones', () => {
    const takesTools = engineKinds().filter((kind) => engines.adapter(kind).features?.includes('tools'));
    expect(Object.keys(transcripts).sort()).toEqual(takesTools.sort());
    expect([...takesTools, ...noTools].sort()).toEqual(engineKindsServing('generate').sort());
  });

  it.each(noTools)('%s refuses tools', async (kind) => {
    expect(await refusal(kind, {})).toMatchObject({ code: 'unsupported', retryable: false, param: 'tools', message: expect.stringContaining(`the ${kind} engine`) });
  });

  it('asks nothing of an engine for tools it will not call (tool_choice none), a text response_format or an unset seed', () => {
    expect(featuresAsked({ tools, tool_choice: 'none', response_format: { type: 'text' }, seed: null })).toEqual([]);
    expect(featuresAsked({ tools: [], tool_choice: 'required' })).toEqual([]);
  });

  it.each([
    ['ollama', { tool_choice: 'required' }, 'tool_choice'],
    ['ollama', { tool_choice: { type: 'function', function: { name: 'get_time' } } }, 'tool_choice'],
    ['anthropic', { response_format: { type: 'json_object' } }, 'response_format'],
    ['anthropic', { seed: 1 }, 'seed'],
    ['triton', { tools: undefined, response_format: { type: 'json_object' } }, 'response_format'],
    ['triton', { tools: undefined, seed: 1 }, 'seed'],
    ['sglang-generate', { tools: undefined, seed: 1 }, 'seed'],
    ['anthropic', { logprobs: true }, 'logprobs'],
    ['ollama', { logprobs: true }, 'logprobs'],
    ['tgi', { tools: undefined, logprobs: true }, 'logprobs'],
  ] as const)('%s refuses %j (param %s)', async (kind, extra, param) => {
    expect(await refusal(kind, extra)).toMatchObject({ code: 'unsupported', param, message: expect.stringContaining(`'${param}'`) });
  });
});
