/**
 * The function model (DESIGN.md §2): a function has `functionType: "LLM"` and versions; a version
 * lists models, each with its `llmConfig`. Validated with zod wherever records enter: the KV store,
 * a config file, the admin API.
 */
import { z } from 'zod';
import { isValidTokenizer, tokenizerNames } from '../tokenize/tokenizer-names.js';
import { limitSpecSchema, requestLimitSpecSchema } from '../policy/limit-spec.js';
import { routingMethods } from './routing-method-names.js';

export { defaultRoutingMethod, type RoutingMethod, routingMethods } from './routing-method-names.js';

/** Function and version ids: safe as KV key tokens and as the first segment of a model string. */
export const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -');

/** Tuning of the routing methods (docs/routing.md); every field has a default. */
export const routingOptionsSchema = z.object({
  /** Methods a request may pick for itself with the `x-llmux-routing-method` header; none by default. */
  allowOverride: z.array(z.enum(routingMethods)).optional(),
  /** session-affinity: how keys map to workers. */
  hashing: z.enum(['rendezvous', 'consistent']).optional(),
  /** session-affinity: no worker takes more than this factor of the mean in-flight load (>= 1). */
  loadBound: z.number().min(1).max(10).optional(),
  /** prefix-aware and kv-aware: weight of load against the uncached share of the prompt (> 0). */
  loadWeight: z.number().positive().max(100).optional(),
  /** cost-model: weight of the prompt blocks left to prefill after the cached prefix, against the active decode blocks (default 3). */
  overlapWeight: z.number().min(0).max(100).optional(),
  /** cost-model: softmax temperature over the normalised costs; 0 (default) takes the lowest, ties to the lowest worker id. */
  temperature: z.number().min(0).max(10).optional(),
  /**
   * cost-model: weight of the prefill blocks queued ahead on a worker (the prompt tokens its requests
   * without output still wait for, as its last load report said, plus those sent to it since, less
   * what its engine was expected to hold), against the active decode blocks (default 2; 0: off).
   */
  pendingPrefillWeight: z.number().min(0).max(100).optional(),
  /**
   * Tokens per KV block of this model's engines (1-1024). The gateway names the prompt's blocks in
   * this size, and a worker whose KV events use another is routed on the approximate index. Without
   * it: vLLM's default 16, and the router takes the first size a worker's events carry.
   */
  kvBlockSize: z.number().int().min(1).max(1024).optional(),
}).strict();
export type RoutingOptions = z.infer<typeof routingOptionsSchema>;

/**
 * Where a model's requests may be served across clusters (docs/routing.md, "Locality"): `strict`
 * never leaves the router's cluster; `prefer` uses local workers and spills to another cluster when
 * they are saturated, unhealthy, draining or absent; `any` goes to the cluster with the most free capacity.
 */
export const localityModes = ['strict', 'prefer', 'any'] as const;
export type Locality = (typeof localityModes)[number];
export const defaultLocality: Locality = 'prefer';
/** By default the local cluster counts as saturated only when no local worker has a free slot. */
export const defaultSpillAt = 1;

export const llmConfigSchema = z.object({
  /** OpenAI paths this model may be called on; absent means every supported path. */
  uris: z.array(z.string().startsWith('/')).optional(),
  /** cl100k, o200k, llama3, qwen3, gemma3, deepseek_v3 or a path to a tokenizer.json; default: guessed from the model name. */
  tokenizer: z.string().refine(isValidTokenizer, `must be one of ${tokenizerNames.join(', ')} or a path to a tokenizer.json`).optional(),
  /** Tokens per window for this model, all callers together: `1000-S,50000-M` (docs/policy.md). */
  tokenRateLimit: limitSpecSchema.optional(),
  /** Requests per window for this model: `10-S,500-M`. */
  requestRateLimit: requestLimitSpecSchema.optional(),
  /** A limit per distinct value of a request header (e.g. `x-claim-name`). */
  rateLimitSelectors: z.array(z.object({
    header: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name'),
    tokenRateLimit: limitSpecSchema.optional(),
    requestRateLimit: requestLimitSpecSchema.optional(),
    /** Refuse a request without this header (400), rather than let it past this limit. */
    required: z.boolean().optional(),
  }).strict()).max(8).optional(),
  routingMethod: z.enum(routingMethods).optional(),
  routing: routingOptionsSchema.optional(),
  /** Cross-cluster locality (default `prefer`). */
  locality: z.enum(localityModes).optional(),
  /**
   * With `prefer`: the utilisation (in-flight ÷ capacity, 0–1) at which a local worker counts as
   * saturated; the router spills once every eligible local worker is at or above it. Default 1 (full).
   */
  spillAt: z.number().min(0).max(1).optional(),
  /**
   * Mid-stream migration: when a worker or its engine fails after output started, another worker
   * carries the answer on from what the client has, up to `attempts` times (0 turns it off).
   */
  migration: z.object({ attempts: z.number().int().min(0).max(10) }).partial().optional(),
  /** Every stream of this model is resumable (as with `x-llmux-resumable: 1`): journaled, and generated on when its client drops. */
  resumable: z.boolean().optional(),
  contextLength: z.number().int().positive().optional(),
}).strict();
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

/** Where a version is deployed: which workers may serve it, and how many are wanted. */
export const deploymentSchema = z.object({
  /** Only workers of this cluster serve it (all clusters when absent). */
  cluster: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . -').optional(),
  /** Only workers carrying every one of these labels serve it. */
  labels: z.record(z.string().min(1).max(64), z.string().max(256)).optional(),
  /** Workers wanted; status reports registered against it (llmux does not start workers). */
  replicas: z.number().int().min(0).max(10_000).optional(),
  deployedAt: z.string(),
}).strict();
export type Deployment = z.infer<typeof deploymentSchema>;

export const versionRecordSchema = z.object({
  functionId: idSchema,
  versionId: idSchema,
  models: z.array(modelSpecSchema).min(1),
  createdAt: z.string(),
  /** Set by deploy, removed by undeploy. A function with any deployed version serves only deployed ones. */
  deployment: deploymentSchema.optional(),
});
export type VersionRecord = z.infer<typeof versionRecordSchema>;
