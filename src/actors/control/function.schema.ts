/**
 * The function model (DESIGN.md §2): a function has `functionType: "LLM"` and versions; a version
 * lists models, each with its `llmConfig`. Validated with zod wherever records enter: the KV store,
 * a config file, the admin API.
 */
import { z } from 'zod';
import { isValidTokenizer, tokenizerNames } from '../../tokenize/tokenizer-names.js';

/** Function and version ids: safe as KV key tokens and as the first segment of a model string. */
export const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -');

export const routingMethods = ['least-busy', 'round-robin'] as const;
export type RoutingMethod = (typeof routingMethods)[number];

export const llmConfigSchema = z.object({
  /** OpenAI paths this model may be called on; absent means every supported path. */
  uris: z.array(z.string().startsWith('/')).optional(),
  /** cl100k, o200k, llama3, qwen3, gemma3, deepseek_v3 or a path to a tokenizer.json; default: guessed from the model name. */
  tokenizer: z.string().refine(isValidTokenizer, `must be one of ${tokenizerNames.join(', ')} or a path to a tokenizer.json`).optional(),
  tokenRateLimit: z.string().optional(),
  routingMethod: z.enum(routingMethods).optional(),
  contextLength: z.number().int().positive().optional(),
});
export type LlmConfig = z.infer<typeof llmConfigSchema>;

export const modelSpecSchema = z.object({
  name: z.string().min(1).max(256),
  llmConfig: llmConfigSchema.default({}),
});
export type ModelSpec = z.infer<typeof modelSpecSchema>;

export const functionRecordSchema = z.object({
  id: idSchema,
  name: z.string().min(1).max(128),
  functionType: z.literal('LLM'),
  createdAt: z.string(),
});
export type FunctionRecord = z.infer<typeof functionRecordSchema>;

export const versionRecordSchema = z.object({
  functionId: idSchema,
  versionId: idSchema,
  models: z.array(modelSpecSchema).min(1),
  createdAt: z.string(),
});
export type VersionRecord = z.infer<typeof versionRecordSchema>;
