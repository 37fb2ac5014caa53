// Test support for routing: raw HTTP calls that expose response headers, the admin API, live llmConfig changes.
import { demoFunctionId, demoModel, demoVersionId } from '../../src/control/demo-function.js';
import { defaultRoutingMethod, type LlmConfig } from '../../src/control/function.schema.js';
import type { LocalStack } from '../../src/launch/local-stack.js';
import { testAdminKey, testApiKey, waitFor } from './stack.js';

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

export async function chat(stack: LocalStack, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: stack.models[0], max_tokens: 4, messages: [{ role: 'user', content: 'hello' }], ...body }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: body.stream ? text : JSON.parse(text) };
}

export async function admin(stack: LocalStack, method: string, path: string, apiKey = testAdminKey, body?: unknown): Promise<Answer> {
  const res = await fetch(`${stack.gatewayUrl}${path}`, {
    method, headers: { authorization: `Bearer ${apiKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Replaces the demo model's llmConfig and waits until the routers route with the method it names, or the default. */
export async function setLlmConfig(stack: LocalStack, llmConfig: LlmConfig): Promise<void> {
  const expectMethod = llmConfig.routingMethod ?? defaultRoutingMethod;
  await stack.gateway.catalog.putVersion({
    functionId: demoFunctionId, versionId: demoVersionId, createdAt: new Date().toISOString(),
    models: [{ name: demoModel, llmConfig: { tokenizer: 'o200k', ...llmConfig } }],
  });
  await waitFor(async () => {
    const answer = await chat(stack, {}, { 'x-llmux-debug': '1' });
    return answer.headers.get('x-llmux-routing-method') === expectMethod;
  }, 5_000);
}
