/** The demo function `llmux up` registers, so a fresh stack answers at once. */
import type { FunctionCatalog } from './function-catalog.js';
import type { LlmConfig } from './function.schema.js';

export const demoFunctionId = 'demo';
export const demoVersionId = 'v1';
export const demoModel = 'llmux-sim-8b';

export async function registerDemoFunction(catalog: FunctionCatalog, model = demoModel, llmConfig: Partial<LlmConfig> = {}): Promise<void> {
  const now = new Date().toISOString();
  await catalog.putFunction({ id: demoFunctionId, name: 'llmux demo', functionType: 'LLM', createdAt: now });
  await catalog.putVersion({
    functionId: demoFunctionId,
    versionId: demoVersionId,
    createdAt: now,
    models: [{ name: model, llmConfig: { uris: ['/v1/chat/completions', '/v1/completions'], routingMethod: 'least-busy', tokenizer: 'o200k', contextLength: 8192, ...llmConfig } }],
  });
}
