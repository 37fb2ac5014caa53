/**
 * A remote OpenAI-compatible provider (OpenAI, Mistral, Groq, Together…): its base URL and its own
 * key. Health is `GET /v1/models`, which costs no tokens.
 */
import type { EngineAdapter, EngineAdapterOptions } from './adapter.js';
import { checkSettings } from './http-adapter.js';
import { createOpenAiCompatibleAdapter } from './openai-compatible.js';

export function createOpenAiAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('openai', options.settings, []);
  return createOpenAiCompatibleAdapter({ ...options, kind: 'openai', paths: { health: '/v1/models', embeddings: () => '/v1/embeddings', responses: '/v1/responses' } });
}
