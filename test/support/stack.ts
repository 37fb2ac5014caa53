// Test support: a whole llmux on a fresh nats-server (random loopback port), and an OpenAI client for it.
import OpenAI from 'openai';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../src/launch/local-stack.js';
import { silentLogger } from '../../src/observability/logger.js';

export const testApiKey = 'sk-llmux-test-key';
export const testAdminKey = 'llmux-admin-test-key';

export async function startTestStack(options: Partial<LocalStackOptions> = {}): Promise<LocalStack> {
  return startLocalStack({ log: silentLogger(), workers: 2, apiKeys: [testApiKey], adminKey: testAdminKey, heartbeatMs: 250, ...options });
}

export function clientFor(stack: LocalStack, apiKey = testApiKey): OpenAI {
  return new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey, maxRetries: 0, timeout: 15_000 });
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns the time it took. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
