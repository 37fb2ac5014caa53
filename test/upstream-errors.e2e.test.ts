// What a client learns when a provider or a backend fails: llmux's own words, never the provider's
// body (it can hold a masked form of the operator's key) or a socket error (it names an internal
// address). The detail goes to the server log, without the backend's key. On both paths: a route
// straight to a backend, and a function served by a worker.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { admin, chat } from './support/routing.js';
import { startTestStack, testApiKey } from './support/stack.js';

const providerKey = 'sk-proj-Zq81operatorSecretKeyWxyz';
const maskedKey = 'sk-proj-********************Wxyz';
const leakedAddress = '10.20.30.40:8000';

/** A logger whose JSON lines a test can read. */
function collectingLogger(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }), lines };
}

/**
 * A provider on loopback, answering as OpenAI does: a 401 naming the masked key, a 403 from a careless
 * provider that echoes the whole key, or a stream that breaks with an error naming an internal host.
 */
async function startProvider(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const model = (JSON.parse(raw) as { model?: string }).model;
      if (model === 'echoes-key') {
        res.writeHead(403, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: `The key ${req.headers.authorization?.slice(7)} has no access to this model.`, type: 'invalid_request_error' } }));
      } else if (model === 'breaks-mid-stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }] })}\n\n`);
        res.end(`data: ${JSON.stringify({ error: { message: `upstream ${leakedAddress} went away`, type: 'server_error' } })}\n\n`);
      } else {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: {
          message: `Incorrect API key provided: ${maskedKey}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          type: 'invalid_request_error', param: null, code: 'invalid_api_key',
        } }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const backendFailures = (lines: string[]): string[] => lines.filter((l) => l.includes('backend failed'));

describe('upstream errors - on a route', () => {
  let stack: LocalStack;
  let provider: Awaited<ReturnType<typeof startProvider>>;
  let closed: number;
  const { log, lines } = collectingLogger();

  beforeAll(async () => {
    provider = await startProvider();
    closed = await closedPort();
    stack = await startTestStack({ workers: 1, log });
    expect((await admin(stack, 'PUT', '/admin/api/backends/keyed', undefined, { engine: 'openai', url: provider.url, apiKey: providerKey })).status).toBe(200);
    expect((await admin(stack, 'PUT', '/admin/api/backends/closed', undefined, { engine: 'vllm', url: `http://127.0.0.1:${closed}` })).status).toBe(200);
    for (const [name, models, backend] of [['keyed', ['provider-model', 'echoes-key', 'breaks-mid-stream'], 'keyed'], ['closed', ['closed-model'], 'closed']] as const) {
      expect((await admin(stack, 'PUT', `/admin/api/routes/${name}`, undefined, { match: { models }, backends: [{ backend }] })).status).toBe(200);
    }
  });
  afterAll(async () => {
    await stack?.stop();
    await provider?.close();
  });

  it("tells the client the provider rejected the request, and keeps the provider's body, masked key and all, for the log", async () => {
    for (const stream of [false, true]) {
      const answer = await chat(stack, { model: 'provider-model', stream });
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      expect(answer.status).toBe(502);
      expect(text).toContain('answered 401');
      for (const secret of [maskedKey, 'Wxyz', '****', providerKey, 'Incorrect API key']) expect(text).not.toContain(secret);
    }
    const logged = backendFailures(lines).find((l) => l.includes(maskedKey));
    expect(logged, lines.join('')).toBeDefined();
    expect(logged).toContain('"backend":"keyed"');
  });

  it('tells the client the backend refused the connection, and keeps the address for the log', async () => {
    const answer = await chat(stack, { model: 'closed-model' });
    expect(answer.status).toBe(502);
    expect(answer.body.error.message).toContain("on backend 'closed'");
    expect(answer.body.error.message).toContain('connection refused');
    for (const secret of [`127.0.0.1:${closed}`, String(closed), 'ECONNREFUSED']) expect(JSON.stringify(answer.body)).not.toContain(secret);
    const logged = backendFailures(lines).find((l) => l.includes(`127.0.0.1:${closed}`));
    expect(logged, lines.join('')).toContain('ECONNREFUSED');
  });

  it("never logs the backend's key, even when the provider echoes it", async () => {
    const answer = await chat(stack, { model: 'echoes-key' });
    expect(answer.status).toBe(502);
    expect(JSON.stringify(answer.body)).not.toContain(providerKey);
    expect(backendFailures(lines).some((l) => l.includes('has no access to this model'))).toBe(true);
    expect(lines.join('')).not.toContain(providerKey);
  });

  it("ends a broken stream with llmux's own error event, not the provider's", async () => {
    const answer = await chat(stack, { model: 'breaks-mid-stream', stream: true });
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('event: error');
    expect(answer.body).not.toContain(leakedAddress);
    expect(backendFailures(lines).some((l) => l.includes(leakedAddress))).toBe(true);
  });
});

describe('upstream errors - on a worker', () => {
  let stack: LocalStack;
  let provider: Awaited<ReturnType<typeof startProvider>>;

  beforeAll(async () => {
    provider = await startProvider();
    stack = await startTestStack({ workers: 1, engineKind: 'openai', engineUrl: provider.url, engineApiKey: providerKey });
  });
  afterAll(async () => {
    await stack?.stop();
    await provider?.close();
  });

  it("tells the client the provider rejected the request, never the provider's body", async () => {
    const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: stack.models[0], max_tokens: 4, messages: [{ role: 'user', content: 'hello' }] }),
    });
    const text = await res.text();
    expect(res.status, text).toBeGreaterThanOrEqual(500);
    expect(text).toContain('answered 401');
    for (const secret of [maskedKey, 'Wxyz', '****', providerKey, 'Incorrect API key']) expect(text).not.toContain(secret);
  });
});
