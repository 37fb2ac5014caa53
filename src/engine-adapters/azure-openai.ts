/**
 * Azure OpenAI: deployment paths (`/openai/deployments/{deployment}/…?api-version=…`) and the key
 * in an `api-key` header. Settings: `api-version` (default 2024-10-21, the current GA version) and
 * `deployment` (default: the request's model name, as deployments are usually named after models).
 */
import type { EngineAdapter, EngineAdapterOptions } from './adapter.js';
import { checkSettings } from './http-adapter.js';
import { createOpenAiCompatibleAdapter } from './openai-compatible.js';

export const defaultAzureApiVersion = '2024-10-21';

export function createAzureOpenAiAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('azure-openai', options.settings, ['api-version', 'deployment']);
  const version = encodeURIComponent(options.settings?.['api-version'] ?? defaultAzureApiVersion);
  const fixed = options.settings?.deployment;
  const deployment = (model: string): string => encodeURIComponent(fixed ?? model);
  return createOpenAiCompatibleAdapter({
    ...options,
    kind: 'azure-openai',
    keyHeader: (key) => ({ 'api-key': key }),
    paths: {
      chat: (model) => `/openai/deployments/${deployment(model)}/chat/completions?api-version=${version}`,
      completion: (model) => `/openai/deployments/${deployment(model)}/completions?api-version=${version}`,
      embeddings: (model) => `/openai/deployments/${deployment(model)}/embeddings?api-version=${version}`,
      health: `/openai/models?api-version=${version}`,
    },
  });
}
