/**
 * Hostile HTTP requests for the gateway fuzz (fuzz-http.test.ts): methods, paths (streams and admin
 * ones included), credentials, headers (huge, repeated, control characters, lying framing) and
 * bodies (random bytes, truncated or deeply nested JSON, huge strings, every OpenAI field with a
 * wrong type). An arbitrary describes a request; `materialize` writes its bytes, so a 3 MB body costs
 * fast-check a number to generate and to shrink.
 */
import fc from 'fast-check';
import { routingMethods } from '../src/control/function.schema.js';
import type { RawRequest } from './raw-http.js';

/** A string of `bytes` characters, a piece repeated: cheap to build at any size. */
const filler = (bytes: number, piece = 'llmux '): string => piece.repeat(Math.ceil(bytes / piece.length)).slice(0, bytes);

/** Sized values, materialized later. */
type Sized = { huge: number; piece: string } | { nested: number; kind: 'array' | 'object' };
const isSized = (v: unknown): v is Sized => typeof v === 'object' && v !== null && ('huge' in v || 'nested' in v) && Object.keys(v).length === 2;

const hugeArb: fc.Arbitrary<Sized> = fc.record({ huge: fc.oneof({ weight: 4, arbitrary: fc.constant(10_000) }, { weight: 2, arbitrary: fc.constant(100_000) }, { weight: 2, arbitrary: fc.constantFrom(1_000_000, 1_040_000, 1_100_000, 3_000_000) }), piece: fc.constantFrom('a', 'llmux ', 'ö€🌊', '\\u0000"', '{[') });
const nestedArb: fc.Arbitrary<Sized> = fc.record({ nested: fc.constantFrom(2, 63, 64, 65, 500, 10_000), kind: fc.constantFrom('array' as const, 'object' as const) });

/** Strings a client should not send: prototype keys, lone surrogates, controls, subject wildcards, directives. */
const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 16 }),
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.constantFrom('', ' ', 'constructor', '__proto__', 'toString', '\ud800', '\u0000', 'a.b.*.>', '../../etc', 'null', '[DONE]', '\r\n\r\n', '🌊'.repeat(10)),
);
/** Any JSON value, an odd one, or a sized one. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: oddString },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, -0.5, 1e308, 2 ** 31, 2 ** 53 + 2, [], {}, [null], '1', 'true') },
  { weight: 1, arbitrary: hugeArb },
  { weight: 1, arbitrary: nestedArb },
);
/** Usually a good value, sometimes anything. */
const field = <T>(good: fc.Arbitrary<T>, goodWeight = 3): fc.Arbitrary<unknown> => fc.oneof({ weight: goodWeight, arbitrary: good }, { weight: 1, arbitrary: anyValue });
const maybe = <T>(a: fc.Arbitrary<T>, freq = 2): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq });

/** Prompt text: words, sometimes a simulator fault directive (src/sim/faults.ts), sometimes odd. */
const promptText = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.constantFrom('hello', 'tell', 'me', 'a', 'story', 'about', 'the', 'sea', 'ö', '€', '🌊'), { minLength: 1, maxLength: 8 }).map((w) => w.join(' ')) },
  { weight: 1, arbitrary: fc.constantFrom('[[sim:fail]] hi', 'hi [[sim:cut-after:2]]', 'hi [[sim:error-after:1]]', '[[sim:prefill-ms:50]] hi', '[[sim:cut-after:0]]') },
  { weight: 1, arbitrary: oddString },
  { weight: 1, arbitrary: hugeArb },
);
const contentPart = fc.oneof(
  fc.record({ type: fc.constant('text'), text: field(promptText) }),
  fc.record({ type: fc.constant('image_url'), image_url: field(fc.record({ url: fc.constantFrom('data:image/png;base64,iVBORw0KGgo=', 'http://10.0.0.1/x.png') })) }),
  anyValue,
);
const message = fc.record({
  role: field(fc.constantFrom('user', 'user', 'system', 'assistant', 'developer', 'tool', 'function'), 6),
  content: maybe(field(fc.oneof({ weight: 3, arbitrary: promptText }, { weight: 1, arbitrary: fc.array(contentPart, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.constant(null) }), 6), 8),
  name: maybe(anyValue, 1),
  tool_calls: maybe(anyValue, 1),
  tool_call_id: maybe(anyValue, 1),
}, { requiredKeys: [] });
const tokens = fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 1, max: 24 }) },
  { weight: 3, arbitrary: fc.constantFrom(0, -1, 1.5, '5', 3_000, 8_192, 8_193, 1e9, 2 ** 53 + 2, null, true, [5]) });
const tool = fc.record({ type: field(fc.constant('function')), function: field(fc.record({ name: field(fc.constantFrom('f', 'get_weather')), parameters: field(fc.constant({ type: 'object' })) })) });

const modelArb = (model: string): fc.Arbitrary<unknown> => fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('', 'demo/', 'demo/unknown', 'unknown/llmux-sim-8b', model.toUpperCase(), `${model}/extra`, `${model}\u0000`, ` ${model}`, 'a.b.*.>/m', '__proto__/constructor') },
  { weight: 1, arbitrary: anyValue },
);

/** One field of an OpenAI body with a value of any sort: right, wrong-typed, out of range, huge or deep. */
const hostileField = (model: string): fc.Arbitrary<[string, unknown]> => fc.oneof(
  ...Object.entries({
    model: modelArb(model),
    messages: field(fc.array(message, { minLength: 1, maxLength: 4 }), 1),
    prompt: field(fc.oneof(promptText, fc.array(promptText, { minLength: 1, maxLength: 2 }), fc.array(fc.nat(50_000), { maxLength: 6 }), fc.constant([[1, 2], [3]]), fc.constant([[]])), 1),
    stream: anyValue,
    stream_options: field(fc.record({ include_usage: field(fc.boolean()) }), 1),
    max_tokens: tokens,
    max_completion_tokens: tokens,
    n: field(fc.constantFrom(1, 2, 0), 1),
    temperature: field(fc.double({ min: -1, max: 3, noNaN: true }), 1),
    top_p: field(fc.double({ min: -1, max: 2, noNaN: true }), 1),
    tools: field(fc.array(tool, { maxLength: 2 }), 1),
    tool_choice: field(fc.constantFrom('auto', 'none', 'required'), 1),
    response_format: field(fc.constantFrom({ type: 'text' }, { type: 'json_object' }, { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } }), 1),
    stop: field(fc.oneof(fc.string({ maxLength: 4 }), fc.array(fc.string({ maxLength: 4 }), { maxLength: 4 })), 1),
    seed: field(fc.integer(), 1),
    user: anyValue,
    logprobs: anyValue,
    prompt_cache_key: anyValue,
    continue_final_message: field(fc.boolean(), 1),
    add_generation_prompt: field(fc.boolean(), 1),
    metadata: anyValue,
  }).map(([key, value]) => value.map((v): [string, unknown] => [key, v])),
  fc.tuple(oddString, anyValue),
);

const goodMessages = fc.array(fc.record({ role: fc.constantFrom('system', 'assistant', 'user'), content: promptText }), { maxLength: 2 })
  .chain((before) => promptText.map((last) => [...before, { role: 'user', content: last }]));

/**
 * A chat or completions body: a valid one for the model, then (when `hostile`) one to three fields
 * replaced by hostile ones (hostileField).
 */
const openAiBody = (model: string, operation: 'chat' | 'completion', hostile = true): fc.Arbitrary<Record<string, unknown>> => fc.record({
  input: operation === 'chat' ? goodMessages.map((messages) => ({ messages })) : promptText.map((prompt) => ({ prompt })),
  stream: fc.boolean(),
  includeUsage: fc.boolean(),
  maxTokens: fc.option(fc.integer({ min: 1, max: 24 }), { nil: undefined, freq: 4 }),
  fields: hostile ? fc.array(hostileField(model), { minLength: 1, maxLength: 3 }) : fc.constant([]),
}).map(({ input, stream, includeUsage, maxTokens, fields }) => ({
  model, ...input, stream, ...(stream && includeUsage ? { stream_options: { include_usage: true } } : {}), ...(maxTokens ? { max_tokens: maxTokens } : {}),
  ...Object.fromEntries(fields),
}));

export type BodyPlan =
  | { type: 'json'; value: unknown }
  | { type: 'truncated'; value: unknown; keep: number }
  | { type: 'bytes'; bytes: Uint8Array }
  | { type: 'text'; text: string }
  | { type: 'numbers'; count: number }
  | { type: 'empty' };

const bodyArb = (model: string, operation: 'chat' | 'completion'): fc.Arbitrary<BodyPlan> => fc.oneof(
  { weight: 10, arbitrary: openAiBody(model, operation).map((value) => ({ type: 'json' as const, value })) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('truncated' as const), value: openAiBody(model, operation), keep: fc.nat(200) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 600 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('json' as const), value: anyValue }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('text' as const), text: fc.constantFrom('\ufeff{"model":"x"}', '{"model":"a","model":"b"}', 'null', '[]', '"x"', '{', '{}'.repeat(3), '{"a":1}\u0000') }) },
  // numbers that grow in msgpack (`0.5,` becomes 9 bytes): the body limit must count the encoding
  { weight: 1, arbitrary: fc.record({ type: fc.constant('numbers' as const), count: fc.constantFrom(100_000, 240_000) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'empty' as const }) },
);

/** Materializes sized values inside a JSON value, as JSON text. */
function jsonText(value: unknown): string {
  if (isSized(value)) {
    if ('huge' in value) return JSON.stringify(filler(value.huge, value.piece));
    return value.kind === 'array' ? `${'['.repeat(value.nested)}${']'.repeat(value.nested)}` : `${'{"a":'.repeat(value.nested)}1${'}'.repeat(value.nested)}`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => jsonText(v)).join(',')}]`;
  // As JSON.stringify: an undefined member is left out.
  if (typeof value === 'object' && value !== null) return `{${Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

function bodyBytes(plan: BodyPlan): Buffer {
  switch (plan.type) {
    case 'json': return Buffer.from(jsonText(plan.value));
    case 'truncated': { const t = jsonText(plan.value); return Buffer.from(t.slice(0, Math.min(plan.keep, t.length - 1))); }
    case 'bytes': return Buffer.from(plan.bytes);
    case 'text': return Buffer.from(plan.text);
    case 'numbers': return Buffer.from(`{"model":"x","messages":[{"role":"user","content":"x"}],"metadata":[${'0.5,'.repeat(plan.count)}0.5]}`);
    case 'empty': return Buffer.alloc(0);
  }
}

/** How the body's length is told: truly, by chunks, not at all, or falsely. */
export type Framing = 'length' | 'chunked' | 'none' | 'claims-more' | 'claims-less' | 'two-lengths' | 'length-and-chunked';

export interface HostileRequest {
  method: string;
  path: string;
  /** Credentials: the right key, none, or garbage. */
  auth: string | undefined;
  headers: Array<[string, string]>;
  body: BodyPlan;
  framing: Framing;
}

/** A stream id shape (22 base64url characters) and Last-Event-ID shapes. */
const streamIdLike = fc.stringMatching(/^[A-Za-z0-9_-]{22}$/);
/** Percent-encodes every byte but unreserved ones (encodeURIComponent throws on a lone surrogate). */
const percentEncoded = (s: string): string => [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`)).join('');
const junkPath = fc.oneof(oddString.map(percentEncoded), fc.constantFrom('%00', '%2e%2e/%2e%2e', '..', 'a/b/c', '*', '>'), fc.constantFrom(10, 1_000, 2_100, 4_000, 12_000).map((n) => 'a.'.repeat(n / 2)));

/** Where a request goes, and which operation's body it carries (now and then the other one's). */
const targetArb: fc.Arbitrary<{ path: string; body: 'chat' | 'completion' }> = fc.oneof(
  { weight: 14, arbitrary: fc.constant({ path: '/v1/chat/completions', body: 'chat' as const }) },
  { weight: 5, arbitrary: fc.constant({ path: '/v1/completions', body: 'completion' as const }) },
  { weight: 1, arbitrary: fc.constantFrom({ path: '/v1/completions', body: 'chat' as const }, { path: '/v1/chat/completions', body: 'completion' as const }) },
  { weight: 6, arbitrary: fc.oneof(
    fc.constantFrom('/v1/models', '/health', '/ready', '/metrics', '/', '/v1/embeddings', '/v1/responses', '/v1/chat/completions/', '/V1/CHAT/COMPLETIONS',
      '/v1/chat/completions?stream=true', '//v1/chat/completions', '/v1/chat/completions#x', '*', 'http://evil.example/v1/chat/completions'),
    fc.oneof(junkPath, streamIdLike).map((s) => `/v1/streams/${s}`),
    fc.oneof(junkPath, fc.stringMatching(/^resp_[0-9a-f]{32}$/)).map((s) => `/v1/responses/${s}`),
    fc.oneof(fc.constantFrom('functions', 'keys', 'routes', 'workers', 'routing/decisions', ''), junkPath).map((s) => `/admin/${s}`),
    junkPath.map((s) => `/${s}`),
  ).map((path) => ({ path, body: 'chat' as const })) },
);

const headerArb: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', '', 'application/json, text/html')
    .map((v): [string, string] => ['content-type', v]),
  fc.oneof(fc.constantFrom('abc-123', '', 'a'.repeat(128), 'a'.repeat(129), 'x'.repeat(10_000), 'a\u0001b', 'a\tb', 'ü', 'a,b', '../x'), oddString).map((v): [string, string] => ['x-request-id', v]),
  fc.oneof(fc.constantFrom(...routingMethods), oddString).map((v): [string, string] => ['x-llmux-routing-method', v]),
  fc.oneof(streamIdLike.map((s) => `${s}.3`), fc.constantFrom('0', '-1', 'x.y', '.', 'a'.repeat(5_000)), oddString).map((v): [string, string] => ['last-event-id', v]),
  fc.constantFrom<[string, string]>(['x-llmux-debug', '1'], ['x-llmux-resumable', '1'], ['x-session-id', 'sess'], ['traceparent', '00-zz-yy-01'],
    ['expect', '100-continue'], ['expect', 'the-unexpected'], ['connection', 'close'], ['connection', 'keep-alive, upgrade'], ['accept-encoding', 'gzip'], ['host', ''],
    ['content-encoding', 'gzip'], ['x-forwarded-for', '1.2.3.4, ::1'], ['transfer-encoding', 'gzip, chunked']),
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.oneof(oddString, fc.constantFrom('x'.repeat(20_000), 'y'.repeat(8_000)))),
);

const authArb = (apiKey: string): fc.Arbitrary<string | undefined> => fc.oneof(
  { weight: 3, arbitrary: fc.constant(`Bearer ${apiKey}`) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom('Bearer', 'Bearer ', `bearer ${apiKey}`, `Bearer  ${apiKey}`, `Bearer ${apiKey}x`, `Basic ${Buffer.from(`u:${apiKey}`).toString('base64')}`,
    `Bearer ${apiKey}, Bearer ${apiKey}`, 'Bearer eyJhbGciOiJub25lIn0.eyJ0ZW5hbnQiOiJ4In0.', 'Bearer eyJ.eyJ.sig', `Bearer ${'k'.repeat(12_000)}`, 'Bearer \u00ff\u00fe', 'Bearer llmux-admin') },
  { weight: 1, arbitrary: oddString.map((s) => `Bearer ${s}`) },
);

const framingArb: fc.Arbitrary<Framing> = fc.oneof(
  { weight: 1, arbitrary: fc.constant('length' as const) },
  { weight: 2, arbitrary: fc.constant('chunked' as const) },
  { weight: 1, arbitrary: fc.constantFrom('none' as const, 'claims-more' as const, 'claims-less' as const, 'two-lengths' as const, 'length-and-chunked' as const) },
);

/** The parts of a request that may be hostile; the others are those of a valid request. */
const dimensions = ['method', 'path', 'auth', 'headers', 'body', 'framing'] as const;
type Dimension = (typeof dimensions)[number];
const pathOf = { chat: '/v1/chat/completions', completion: '/v1/completions' } as const;

/**
 * A request hostile in none of its parts (a third of the time: other clients' traffic in the same
 * stream of requests), in one part (so a failure points at it), or in all of them.
 */
export const hostileRequestArb = (model: string, apiKey: string): fc.Arbitrary<HostileRequest> => fc.record({
  hostileIn: fc.oneof(
    { weight: 3, arbitrary: fc.constant<readonly Dimension[]>([]) },
    { weight: 8, arbitrary: fc.constantFrom<Dimension>(...dimensions).map((d): readonly Dimension[] => [d]) },
    { weight: 4, arbitrary: fc.constant<readonly Dimension[]>(dimensions) },
  ),
  method: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'FOO', 'post', 'GET /x', 'POST'),
  target: targetArb,
  auth: authArb(apiKey),
  headers: fc.oneof({ weight: 4, arbitrary: fc.array(headerArb, { minLength: 1, maxLength: 3 }) },
    // many headers at once
    { weight: 1, arbitrary: fc.tuple(fc.nat(300), headerArb).map(([n, h]) => Array.from({ length: n }, () => h)) }),
  body: fc.record({ chat: bodyArb(model, 'chat'), completion: bodyArb(model, 'completion') }),
  framing: framingArb,
  valid: fc.record({ operation: fc.constantFrom('chat' as const, 'completion' as const), chat: openAiBody(model, 'chat', false), completion: openAiBody(model, 'completion', false) }),
}).map(({ hostileIn, method, target, auth, headers, body, framing, valid }): HostileRequest => {
  const hostile = (d: Dimension): boolean => hostileIn.includes(d);
  const operation = hostile('path') ? target.body : valid.operation;
  return {
    method: hostile('method') ? method : 'POST',
    path: hostile('path') ? target.path : pathOf[operation],
    auth: hostile('auth') ? auth : `Bearer ${apiKey}`,
    headers: hostile('headers') ? headers : [],
    body: hostile('body') ? body[operation] : { type: 'json', value: valid[operation] },
    framing: hostile('framing') ? framing : 'length',
  };
});

function chunked(body: Buffer): Buffer {
  const half = Math.floor(body.length / 2);
  const parts = [body.subarray(0, half), body.subarray(half)].filter((p) => p.length > 0);
  return Buffer.concat([...parts.flatMap((p) => [Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')]);
}

/** The request's bytes, ready for sendRaw. */
export function materialize(r: HostileRequest): RawRequest {
  const body = bodyBytes(r.body);
  const framingHeaders: Array<[string, string]> = {
    length: [['content-length', String(body.length)]],
    chunked: [['transfer-encoding', 'chunked']],
    none: [],
    'claims-more': [['content-length', String(body.length + 10)]],
    'claims-less': [['content-length', String(Math.max(0, body.length - 3))]],
    'two-lengths': [['content-length', String(body.length)], ['content-length', String(body.length + 1)]],
    'length-and-chunked': [['content-length', String(body.length)], ['transfer-encoding', 'chunked']],
  }[r.framing] as Array<[string, string]>;
  return {
    method: r.method,
    target: r.path,
    headers: [['host', '127.0.0.1'], ...(r.auth !== undefined ? [['authorization', r.auth] as [string, string]] : []), ...r.headers, ...framingHeaders],
    body: r.framing === 'chunked' || r.framing === 'length-and-chunked' ? chunked(body) : body,
    // A body shorter than its content-length would wait for the body timeout: half-close instead, as a client that gave up.
    halfClose: r.framing === 'claims-more',
  };
}
