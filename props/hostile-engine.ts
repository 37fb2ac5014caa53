/**
 * Hostile engine answers for the adapter fuzz (fuzz-engine-streams.test.ts): records in each
 * engine's dialect with wrong-typed fields, garbage and invalid JSON between them, huge lines, error
 * objects mid-stream, end markers missing or early, in SSE or NDJSON with any line ends, cut at random
 * byte offsets (inside UTF-8 characters too); served by a loopback engine that ends, cuts or holds
 * the response. Arbitraries describe the answer; `engineBody` materializes it, so huge parts cost
 * fast-check nothing to generate or shrink.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { EngineKind } from '../src/engine-adapters/registry.js';

/** The wire dialects the registered adapters read. */
export type Dialect = 'openai' | 'anthropic' | 'tgi' | 'triton' | 'ollama' | 'sglang-generate';

/** Each generating adapter's dialect: a new one that is not listed here fails to compile (TEI only embeds). */
export const dialectOf = {
  vllm: 'openai', sglang: 'openai', trtllm: 'openai', llamacpp: 'openai', openai: 'openai', 'azure-openai': 'openai',
  anthropic: 'anthropic', tgi: 'tgi', triton: 'triton', ollama: 'ollama', 'sglang-generate': 'sglang-generate',
} as const satisfies Record<Exclude<EngineKind, 'tei'>, Dialect>;

/** Marks a number written as `1e400` (JSON.parse reads it as Infinity) once serialized. */
const INFINITE = '\u0000inf\u0000';

/** Strings an engine should never send but might: prototype keys, lone surrogates, controls, markers. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', 'length', 'stop', 'eos_token',
    'end_turn', 'max_tokens', '[DONE]', '\ud800', '\udfff', '\u0000', '\r\n', 'data: [DONE]', '🌊大€ö'),
);

/** A value of any JSON type, or an extreme number. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, true, -1, 0, 1.5, -0.5, 2 ** 53, 1e308, INFINITE, [], {}, [null], ['x']),
  hostileString,
);

/** Usually a value of the type the dialect asks for, sometimes anything. */
const field = <T>(right: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 3, arbitrary: right }, { weight: 1, arbitrary: anyJson });
const optional = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq: 3 });
const count = field(fc.nat(5000));
const text = field(fc.oneof(fc.string({ maxLength: 8 }), hostileString));

const errorObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ error: fc.oneof(text, fc.record({ message: text, type: text, param: optional(text), code: optional(anyJson) }, { requiredKeys: [] })) }),
  fc.record({ object: fc.constant('error'), message: text, type: optional(text) }, { requiredKeys: ['object'] }),
);

const toolCall = fc.record({
  index: field(fc.nat(3)), id: optional(text), type: optional(text),
  function: optional(field(fc.record({ name: optional(text), arguments: optional(text) }, { requiredKeys: [] }))),
}, { requiredKeys: [] });
const openaiChoice = fc.record({
  index: field(fc.nat(2)),
  delta: field(fc.record({
    role: optional(text), content: optional(text), reasoning_content: optional(text), reasoning: optional(text), tool_calls: optional(field(fc.array(fc.oneof(toolCall, anyJson), { maxLength: 3 }))),
  }, { requiredKeys: [] })),
  text: optional(text),
  logprobs: optional(field(fc.record({ content: field(fc.array(fc.oneof(fc.record({ token: text, logprob: field(fc.double()) }, { requiredKeys: [] }), anyJson), { maxLength: 2 })) }))),
  finish_reason: optional(field(fc.constantFrom('stop', 'length', 'tool_calls', null))),
}, { requiredKeys: [] });
const openaiUsage = fc.record({ prompt_tokens: optional(count), completion_tokens: optional(count), prompt_tokens_details: optional(field(fc.record({ cached_tokens: count }))) }, { requiredKeys: [] });

/** One record's JSON (or a bare marker) in each dialect, wrong types included. */
const recordOf: Record<Dialect, fc.Arbitrary<unknown>> = {
  openai: fc.oneof(
    fc.record({ object: optional(text), choices: field(fc.array(field(openaiChoice), { maxLength: 3 })), usage: optional(field(openaiUsage)) }, { requiredKeys: [] }),
    errorObject,
  ),
  anthropic: fc.oneof(
    fc.record({ type: fc.constant('message_start'), message: field(fc.record({ usage: field(fc.record({
      input_tokens: optional(count), cache_read_input_tokens: optional(count), cache_creation_input_tokens: optional(count) }, { requiredKeys: [] })) })) }),
    fc.record({ type: fc.constant('content_block_delta'), delta: field(fc.record({ type: field(fc.constantFrom('text_delta', 'thinking_delta')), text: optional(text), thinking: optional(text) }, { requiredKeys: [] })) }),
    fc.record({ type: fc.constant('message_delta'), delta: field(fc.record({ stop_reason: field(fc.oneof(fc.constantFrom('end_turn', 'max_tokens', 'tool_use'), hostileString)) })),
      usage: optional(field(fc.record({ output_tokens: count }))) }, { requiredKeys: ['type'] }),
    fc.constantFrom({ type: 'message_stop' }, { type: 'ping' }, { type: 'content_block_start' }),
    fc.record({ type: fc.constant('content_block_start'), index: field(fc.nat(3)),
      content_block: field(fc.record({ type: field(fc.constantFrom('tool_use', 'text')), id: optional(text), name: optional(text), input: optional(anyJson) }, { requiredKeys: [] })) }),
    fc.record({ type: fc.constant('content_block_delta'), index: field(fc.nat(3)),
      delta: field(fc.record({ type: field(fc.constant('input_json_delta')), partial_json: optional(text) }, { requiredKeys: [] })) }),
    fc.record({ type: fc.constant('error'), error: field(fc.record({ type: field(fc.constantFrom('overloaded_error', 'invalid_request_error', 'api_error')), message: text }, { requiredKeys: [] })) }),
    fc.record({ type: anyJson }),
  ),
  tgi: fc.oneof(
    fc.record({ token: field(fc.record({ text, special: optional(field(fc.boolean())), id: optional(count) }, { requiredKeys: [] })),
      generated_text: optional(field(fc.constantFrom(null, 'whole text'))),
      details: optional(field(fc.record({ finish_reason: field(fc.oneof(fc.constantFrom('length', 'eos_token', 'stop_sequence'), hostileString)), generated_tokens: count }, { requiredKeys: [] }))) },
    { requiredKeys: [] }),
    errorObject,
  ),
  triton: fc.oneof(fc.record({ text_output: optional(text), model_name: optional(text) }, { requiredKeys: [] }), errorObject),
  ollama: fc.oneof(
    fc.record({ message: optional(field(fc.record({ role: optional(text), content: optional(text),
      tool_calls: optional(field(fc.array(fc.oneof(fc.record({ id: optional(text), function: field(fc.record({ name: optional(text), arguments: optional(anyJson) }, { requiredKeys: [] })) }, { requiredKeys: [] }), anyJson), { maxLength: 3 }))) },
    { requiredKeys: [] }))), response: optional(text),
      done: optional(field(fc.boolean())), done_reason: optional(field(fc.constantFrom('stop', 'length'))), prompt_eval_count: optional(count), eval_count: optional(count) }, { requiredKeys: [] }),
    errorObject,
  ),
  'sglang-generate': fc.oneof(
    fc.record({ text: optional(text), meta_info: optional(field(fc.record({ finish_reason: optional(field(fc.record({ type: field(fc.oneof(fc.constantFrom('length', 'stop', null), hostileString)) }))),
      prompt_tokens: optional(count), completion_tokens: optional(count), cached_tokens: optional(count) }, { requiredKeys: [] }))) }, { requiredKeys: [] }),
    errorObject,
  ),
};

/** Whatever a record can be besides the dialect's JSON. */
export type Chaff =
  | { type: 'json'; value: unknown; event?: string }
  | { type: 'done' }
  | { type: 'garbage'; text: string }
  | { type: 'truncated'; value: unknown; keep: number }
  | { type: 'huge'; bytes: number; json: boolean }
  | { type: 'comment'; text: string }
  | { type: 'blank' };

const eventName = fc.constantFrom('message', 'error', 'ping', 'message_start', 'message_delta', 'message_stop', 'content_block_delta', 'junk');

export const recordArb = (dialect: Dialect): fc.Arbitrary<Chaff> => fc.oneof(
  { weight: 12, arbitrary: fc.record({ type: fc.constant('json' as const), value: recordOf[dialect], event: optional(eventName) }, { requiredKeys: ['type', 'value'] }) },
  { weight: 2, arbitrary: fc.constant({ type: 'done' as const }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('garbage' as const), text: fc.oneof(hostileString, fc.string({ unit: 'binary', maxLength: 40 })) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('truncated' as const), value: recordOf[dialect], keep: fc.nat(60) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('huge' as const), bytes: fc.constantFrom(70_000, 300_000, 1_200_000), json: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('comment' as const), text: fc.string({ maxLength: 10 }) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'blank' as const }) },
);

export interface EngineAnswer {
  status: number;
  contentType: string | undefined;
  framing: 'sse' | 'ndjson' | 'whole';
  lineEnd: '\n' | '\r\n' | '\r';
  bom: boolean;
  records: Chaff[];
  /** Byte offsets the body is written in pieces at. */
  cuts: number[];
  /** After the body: end it, destroy the socket (a crash), or keep the response open (a hung engine). */
  ending: 'end' | 'cut' | 'hold';
}

/** The key every fuzzed adapter is given: shaped like no known key, so only knowing it can cut it out. */
export const engineApiKey = 'engkey.Q7vX2mN9pL4t';
const secretish = fc.constantFrom('sk-proj-LEAKME0123456789', 'http://10.1.2.3:8000/v1', '10.9.8.7:9000', 'Bearer sk-live-LEAKME9876', engineApiKey);
/** Secrets planted in engine error bodies: none may reach an error's message. */
export const plantedSecrets = ['LEAKME', '10.1.2.3', '10.9.8.7', engineApiKey];

export const engineAnswerArb = (dialect: Dialect): fc.Arbitrary<EngineAnswer> => fc.record({
  status: fc.oneof({ weight: 6, arbitrary: fc.constant(200) }, { weight: 1, arbitrary: fc.constantFrom(204, 400, 401, 404, 408, 413, 422, 429, 500, 503, 529) }),
  contentType: fc.constantFrom('text/event-stream', 'application/json', 'application/x-ndjson', 'text/html', undefined),
  framing: fc.constantFrom(dialect === 'ollama' ? 'ndjson' : 'sse', dialect === 'ollama' ? 'ndjson' : 'sse', 'sse', 'ndjson', 'whole'),
  lineEnd: fc.constantFrom('\n', '\n', '\r\n', '\r'),
  bom: fc.boolean(),
  records: fc.oneof(
    fc.array(recordArb(dialect), { maxLength: 24 }),
    // an error body, with secrets in it, as a non-2xx answer carries
    fc.tuple(errorObject, secretish).map(([e, s]) => [{ type: 'json' as const, value: plant(e, s) }]),
  ),
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
  ending: fc.oneof({ weight: 20, arbitrary: fc.constant('end' as const) }, { weight: 2, arbitrary: fc.constant('cut' as const) }, { weight: 1, arbitrary: fc.constant('hold' as const) }),
});

function plant(error: unknown, secret: string): unknown {
  const e = error as { error?: unknown; message?: unknown };
  if (typeof e.error === 'object' && e.error !== null) return { ...e, error: { ...e.error, message: `bad key ${secret} at ${secret}` } };
  if (typeof e.error === 'string') return { ...e, error: `upstream ${secret} failed` };
  return { ...e, message: `engine at ${secret} failed` };
}

const serialize = (value: unknown): string => JSON.stringify(value).replaceAll(JSON.stringify(INFINITE), '1e400');

/** One record's text, without its line end. */
function recordText(r: Chaff): { event?: string; data: string } | { comment: string } | undefined {
  switch (r.type) {
    case 'json': return { ...(r.event ? { event: r.event } : {}), data: serialize(r.value) };
    case 'done': return { data: '[DONE]' };
    case 'garbage': return { data: r.text };
    case 'truncated': { const s = serialize(r.value); return { data: s.slice(0, Math.min(s.length - 1, r.keep)) }; }
    case 'huge': return { data: r.json ? `{"choices":[{"index":0,"delta":{"content":"${'x'.repeat(r.bytes)}"}}]}` : 'y'.repeat(r.bytes) };
    case 'comment': return { comment: r.text };
    case 'blank': return undefined;
  }
}

/** The answer's body bytes. */
export function engineBody(a: EngineAnswer): Buffer {
  const nl = a.lineEnd;
  let out = a.bom ? '\ufeff' : '';
  for (const r of a.records) {
    const t = recordText(r);
    if (a.framing === 'whole') {
      if (t && 'data' in t) out += t.data;
      continue;
    }
    if (!t) out += nl;
    else if ('comment' in t) out += a.framing === 'sse' ? `:${t.comment}${nl}` : `${t.comment}${nl}`;
    else if (a.framing === 'sse') out += `${t.event ? `event: ${t.event}${nl}` : ''}${t.data.split(/\r\n|\r|\n/).map((l) => `data: ${l}${nl}`).join('')}${nl}`;
    else out += `${t.data}${nl}`;
  }
  return Buffer.from(out, 'utf8');
}

/** `bytes` in pieces at the given offsets. */
export function piecesOf(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    if (p > start) pieces.push(bytes.subarray(start, p));
    start = p;
  }
  if (start < bytes.length) pieces.push(bytes.subarray(start));
  return pieces;
}

/** A loopback engine that answers every POST with `answer` (set before each request); GETs get 200. */
export class HostileEngine {
  answer: EngineAnswer | undefined;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<HostileEngine> {
    const server = createServer();
    const engine = new HostileEngine(server);
    server.on('request', (req, res) => {
      req.resume();
      req.on('end', () => void engine.#serve(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return engine;
  }

  async #serve(res: import('node:http').ServerResponse): Promise<void> {
    const a = this.answer;
    if (!a) return void res.writeHead(500).end();
    res.writeHead(a.status, a.contentType ? { 'content-type': a.contentType } : {});
    if (a.status === 204) return void res.end();
    for (const piece of piecesOf(engineBody(a), a.cuts)) {
      if (res.destroyed) return;
      res.write(piece);
      await new Promise((r) => setImmediate(r));
    }
    if (a.ending === 'end') res.end();
    else if (a.ending === 'cut') res.destroy();
    // 'hold': the response stays open until the client gives up
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
