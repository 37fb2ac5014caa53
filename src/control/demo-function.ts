/** The demo function `llmux up` registers, so a fresh stack answers at once. */
import type { FunctionCatalog } from './function-catalog.js';
import { operations } from '../operations/index.js';
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
    models: [{ name: model, llmConfig: { uris: Object.values(operations).map((o) => o.path), routingMethod: 'least-busy', tokenizer: 'o200k', contextLength: 8192, ...llmConfig } }],
  });
}
