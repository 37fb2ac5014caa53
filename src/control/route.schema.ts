/**
 * Backends and routes, in the spirit of the Cloud Native LLM Gateway proposal. A backend is a
 * provider or engine reached directly from the gateway (an engine adapter kind, its URL, its key and
 * settings). A route matches client model names (and optionally paths) to an ordered list of
 * backends with weights, and says which failures to retry and how: the first backend is picked by
 * weight, the others are fallbacks in order, all before the first byte reaches the client.
 */
import { z } from 'zod';
import { idSchema } from './function.schema.js';
import { isValidTokenizer, tokenizerNames } from '../tokenize/tokenizer-names.js';

export const backendSchema = z.object({
  name: idSchema,
  /** An engine adapter kind: vllm, sglang, tgi, ollama, openai, azure-openai, anthropic, … */
  engine: z.string().min(1).max(64),
  url: z.url({ protocol: /^https?$/ }),
  /** The key the provider expects; never returned by the API or logged. */
  apiKey: z.string().min(1).max(4096).optional(),
  /** Engine settings, as `--engine-option` (e.g. api-version for azure-openai). */
  options: z.record(z.string(), z.string()).optional(),
  /** The model name to send the backend (default: the name the client asked for). */
  model: z.string().min(1).max(256).optional(),
}).strict();
export type Backend = z.infer<typeof backendSchema>;

export const retryOnValues = ['429', '5xx', 'connect-failure'] as const;

export const routeSchema = z.object({
  name: idSchema,
  match: z.object({
    /** Client model names this route serves (exact). */
    models: z.array(z.string().min(1).max(256)).min(1),
    /** OpenAI paths it serves (default all). */
    paths: z.array(z.enum(['/v1/chat/completions', '/v1/completions', '/v1/embeddings'])).optional(),
  }).strict(),
  backends: z.array(z.object({
    backend: idSchema,
    /** Relative share of first attempts (0: fallback only). */
    weight: z.number().int().min(0).max(1000).default(1),
    /** The `owned_by` a request may select this backend by (llm-d's admin routing API). */
    ownedBy: z.string().min(1).max(128).optional(),
  }).strict()).min(1),
  /** The models' context length: a request whose prompt and max_tokens cannot fit gets a 400 before any backend is called. */
  contextLength: z.number().int().positive().optional(),
  /** How prompts are counted before admission (as llmConfig.tokenizer); default: guessed from the model name. */
  tokenizer: z.string().refine(isValidTokenizer, `must be one of ${tokenizerNames.join(', ')} or a path to a tokenizer.json`).optional(),
  retry: z.object({
    retryOn: z.array(z.enum(retryOnValues)).default(['5xx', 'connect-failure']),
    /** Attempts per backend. */
    attempts: z.number().int().min(1).max(10).default(1),
    backoffMs: z.number().int().min(0).max(60_000).default(100),
  }).strict().default({ retryOn: ['5xx', 'connect-failure'], attempts: 1, backoffMs: 100 }),
}).strict();
export type Route = z.infer<typeof routeSchema>;
