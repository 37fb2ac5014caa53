// POST /v1/embeddings end to end on a real nats-server: the official openai client → gateway →
// router → worker → vLLM adapter → the simulator's deterministic vectors. Single and batched inputs
// in OpenAI's four forms, float and base64 (decoded and compared), usage from the engine's count, a
// ledger record per request (completion tokens 0), the rate limits as for chat, and hostile inputs
// answered 400 naming the field.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { openUsageStream, readUsageRecords } from '../src/ledger/usage-ledger.js';
import { maxEmbeddingInputs } from '../src/operations/embeddings.js';
import { embedText } from '../src/sim/embeddings.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { setLlmConfig } from './support/routing.js';
import { clientFor, startTestStack, testAdminKey, testApiKey, waitFor } from './support/stack.js';
import { type SimServer, startSim } from '../src/sim/sim-server.js';
import { runWorker } from '../src/launch/roles.js';
import type { Worker } from '../src/actors/worker/worker.js';
import { silentLogger } from '../src/observability/logger.js';
import { demoFunctionId, demoModel, demoVersionId } from '../src/control/demo-function.js';

const dims = 64;
let stack: LocalStack;
let client: OpenAI;
let model: string;

beforeAll(async () => {
  stack = await startTestStack({ workers: 1, sim: { embeddingDimensions: dims } });
  client = clientFor(stack);
  model = stack.models[0] as string;
});
afterAll(async () => {
  await stack?.stop();
});

const post = async (body: unknown): Promise<{ status: number; json: Record<string, any>; headers: Headers }> => {
  const res = await fetch(`${stack.gatewayUrl}/v1/embeddings`, {
    method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, any>, headers: res.headers };
};

/** OpenAI's base64: float32, little-endian. */
const decode = (b64: string): number[] => {
  const bytes = Buffer.from(b64, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
};

describe('embeddings - the official client end to end', () => {
  it('embeds one string as floats, with the engine\'s token count as usage', async () => {
    const res = await client.embeddings.create({ model, input: 'the quiet sea', encoding_format: 'float' });
    expect(res).toMatchObject({ object: 'list', model, usage: { prompt_tokens: 3, total_tokens: 3 } });
    expect(res.data).toEqual([{ object: 'embedding', index: 0, embedding: embedText('the quiet sea', dims) }]);
  });

  it('embeds a batch in input order; base64 (the client\'s default, decoded by it) equals float', async () => {
    const input = ['one fish', 'two fish', 'red fish blue fish'];
    const asBase64 = await client.embeddings.create({ model, input });
    const asFloat = await client.embeddings.create({ model, input, encoding_format: 'float' });
    expect(asBase64.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(asBase64.data.map((d) => d.embedding)).toEqual(asFloat.data.map((d) => d.embedding));
    expect(asFloat.data.map((d) => d.embedding)).toEqual(input.map((t) => embedText(t, dims)));
    expect(asFloat.usage).toEqual({ prompt_tokens: 8, total_tokens: 8 });
  });

  it(`embeds ${maxEmbeddingInputs} inputs, more vectors than one NATS message carries, all in order`, async () => {
    const input = Array.from({ length: maxEmbeddingInputs }, (_, i) => `item ${i}`);
    const res = await client.embeddings.create({ model, input, encoding_format: 'float' });
    expect(res.data).toHaveLength(maxEmbeddingInputs);
    // 2,048 vectors of 64 float64 values are 1 MiB: more than the worker puts in one frame (3/4 of max_payload).
    expect(maxEmbeddingInputs * dims * 8).toBeGreaterThan(0.75 * 1024 * 1024);
    res.data.forEach((d, i) => {
      expect(d.index).toBe(i);
      expect(d.embedding).toEqual(embedText(`item ${i}`, dims));
    });
    expect(res.usage.prompt_tokens).toBe(2 * maxEmbeddingInputs);
  });

  it('sends base64 on the wire as little-endian float32, the same numbers as float', async () => {
    const b64 = await post({ model, input: ['hello there'], encoding_format: 'base64' });
    const floats = await post({ model, input: ['hello there'] });
    expect(b64.status).toBe(200);
    expect(typeof b64.json.data[0].embedding).toBe('string');
    expect(decode(b64.json.data[0].embedding as string)).toEqual(floats.json.data[0].embedding);
  });

  it('takes token ids and token-id arrays, counting one token per id', async () => {
    const one = await client.embeddings.create({ model, input: [101, 2023, 102], encoding_format: 'float' });
    expect(one.data).toHaveLength(1);
    expect(one.usage.prompt_tokens).toBe(3);
    const many = await client.embeddings.create({ model, input: [[101, 102], [7, 8, 9, 10]], encoding_format: 'float' });
    expect(many.data.map((d) => d.embedding)).toEqual([embedText([101, 102].join(' '), dims), embedText([7, 8, 9, 10].join(' '), dims)]);
    expect(many.usage.prompt_tokens).toBe(6);
  });

  it('passes `dimensions` to the engine', async () => {
    const res = await client.embeddings.create({ model, input: 'short', dimensions: 16, encoding_format: 'float' });
    expect(res.data[0]?.embedding).toHaveLength(16);
  });

  it('writes one ledger record per request: the prompt tokens, completion tokens 0', async () => {
    const { data, response } = await client.embeddings.create({ model, input: ['for the ledger', 'and again'] }).withResponse();
    expect(data.usage.prompt_tokens).toBe(5);
    const requestId = response.headers.get('x-request-id');
    await stack.gateway.ledger?.flush(10_000);
    const transport = await connectNats({ servers: stack.natsUrl, name: 'test-embeddings-ledger', ...stack.natsCredentials });
    try {
      const records = (await readUsageRecords(await openUsageStream(transport))).filter((r) => r.requestId === requestId);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ promptTokens: 5, completionTokens: 0, status: 200, outcome: 'ok', tenant: 'default' });
    } finally {
      await transport.close();
    }
  });

  it.each([
    ['an empty string', { input: '' }, 'input'],
    ['an empty array', { input: [] }, 'input'],
    [`more than ${maxEmbeddingInputs} inputs`, { input: Array.from({ length: maxEmbeddingInputs + 1 }, () => 'x') }, 'input'],
    ['arrays nested too deep', { input: [[['a']]] }, 'input.0.0'],
    ['a non-number among token ids', { input: [1, 'two', 3] }, 'input.1'],
    ['a fraction among token ids', { input: [[1, 2.5]] }, 'input.0.1'],
    ['a negative token id', { input: [[1], [-4]] }, 'input.1.0'],
    ['strings mixed with token ids', { input: ['a', 1] }, 'input.1'],
    ['an object as input', { input: { text: 'hi' } }, 'input'],
    ['no input', {}, 'input'],
    ['an unknown encoding_format', { input: 'hi', encoding_format: 'int8' }, 'encoding_format'],
    ['dimensions 0', { input: 'hi', dimensions: 0 }, 'dimensions'],
    ['stream: true', { input: 'hi', stream: true }, 'stream'],
  ])('answers %s with a 400 naming the field, without reaching an engine', async (_what, body, param) => {
    const before = stack.sims[0]!.stats().embeddingRequests;
    const res = await post({ model, ...body });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ type: 'invalid_request_error', param });
    expect(typeof res.json.error.message).toBe('string');
    expect(stack.sims[0]!.stats().embeddingRequests).toBe(before);
  });

  it('applies the model\'s rate limits as for chat: headers on the answer, 429 when the prompt tokens do not fit', async () => {
    await setLlmConfig(stack, { tokenRateLimit: '100000-M', requestRateLimit: '1000-M' });
    const ok = await post({ model, input: 'within the limits' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
    expect(Number(ok.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(100000);
    await setLlmConfig(stack, { tokenRateLimit: '100-S' });
    const sea = 'sea '.repeat(40).trim(); // 40 tokens by o200k, the model's tokenizer
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 3 && !refused; i++) {
      const res = await post({ model, input: sea });
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(refused?.json.error.code).toBe('rate_limit_exceeded');
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
    // A prompt that can never fit is refused whatever the window.
    expect((await post({ model, input: 'sea '.repeat(150) })).status).toBe(429);
  });
});

// One model, two workers that do different things: a vLLM engine (it generates and embeds) and a
// TEI one (it only embeds). The routers send each request only to a worker whose engine can do it.
describe('embeddings - routers know what each worker\'s engine does', () => {
  let tei: SimServer;
  let teiWorker: Worker;

  beforeAll(async () => {
    tei = await startSim({ format: 'tei', models: [model], embeddingDimensions: dims });
    const { nkeySeed } = await stack.addWorkerIdentity('tei-worker');
    teiWorker = await runWorker({
      natsUrl: stack.natsUrl, nkeySeed, log: silentLogger(), engineKind: 'tei', engineUrl: tei.url, functionId: demoFunctionId,
      versionId: demoVersionId, model: demoModel, workerId: 'tei-worker', heartbeatMs: 250,
    });
    await waitFor(() => stack.router.table.get('tei-worker') !== undefined, 3_000);
    // No rate limit from the tests before: every request here must be served.
    await setLlmConfig(stack, {});
  });
  afterAll(async () => {
    await teiWorker?.stop();
    await tei?.close();
  });

  it('sends chat only to the worker that generates, and embeddings to both', async () => {
    const chats = await Promise.all(Array.from({ length: 8 }, () => client.chat.completions.create({ model, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] })));
    expect(chats.every((c) => c.choices[0]?.message.content)).toBe(true);
    // TEI has no chat endpoint: had one chat reached it, it would have answered 404 and the request a 502 or a retry.
    expect(tei.stats().requestsTotal).toBe(0);
    const teiBefore = tei.stats().embeddingRequests;
    const vllmBefore = stack.sims[0]!.stats().embeddingRequests;
    for (let i = 0; i < 12; i++) await client.embeddings.create({ model, input: `text ${i}` });
    expect(tei.stats().embeddingRequests - teiBefore).toBeGreaterThan(0);
    expect(stack.sims[0]!.stats().embeddingRequests - vllmBefore).toBeGreaterThan(0);
    // The decision record of a chat names the TEI worker as excluded, and why.
    const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json', 'x-request-id': 'capability-chat' },
      body: JSON.stringify({ model, max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const record = (await (await fetch(`${stack.gatewayUrl}/admin/api/decisions/capability-chat`, { headers: { authorization: `Bearer ${testAdminKey}` } })).json()) as {
      decisions: Array<{ candidates: Array<{ workerId: string; excluded?: string }> }>;
    };
    expect(record.decisions[0]?.candidates.find((c) => c.workerId === 'tei-worker')?.excluded).toBe('cannot-serve');
  });
});
