/**
 * Validation of OpenAI request bodies at the HTTP boundary. Unknown fields pass through to the
 * engine; the fields llmux itself reads are checked, and a failure names the field.
 */
import { z } from 'zod';
import { invalidRequest, type LlmuxError } from '../../errors.js';
import type { Operation } from '../../engine-adapters/adapter.js';

const positiveInt = z.number().int().positive();

const common = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: positiveInt.nullish(),
  n: z.literal(1, 'only n=1 is supported').nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
};

const message = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(z.unknown()), z.null()]).optional(),
  name: z.string().nullish(),
});

export const chatBodySchema = z.looseObject({
  ...common,
  messages: z.array(message).min(1),
  max_completion_tokens: positiveInt.nullish(),
});

export const completionBodySchema = z.looseObject({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).min(1), z.array(z.number().int()).min(1), z.array(z.array(z.number().int())).min(1)]),
});

export interface ValidatedRequest {
  operation: Operation;
  model: string;
  stream: boolean;
  includeUsage: boolean;
  /** The body to forward, minus the fields the gateway and adapter own (model, stream, stream_options). */
  body: Record<string, unknown>;
}

/** The 400 for a body that failed a schema, naming the first field at fault (`param`). */
export function zodError(error: z.ZodError, fallback = 'invalid request body'): LlmuxError {
  const issue = error.issues[0];
  const param = issue?.path.map(String).join('.') || 'body';
  return invalidRequest(param, issue ? `invalid '${param}': ${issue.message}` : fallback);
}

export function validateRequest(operation: Operation, raw: unknown): ValidatedRequest | LlmuxError {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return invalidRequest('body', 'the request body must be a JSON object');
  }
  const schema = operation === 'chat' ? chatBodySchema : completionBodySchema;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return zodError(parsed.error);
  const { model, stream, stream_options: streamOptions, ...rest } = parsed.data;
  return {
    operation,
    model,
    stream: stream === true,
    includeUsage: stream === true && streamOptions?.include_usage === true,
    body: rest,
  };
}
