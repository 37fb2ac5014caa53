/**
 * Validation of OpenAI request bodies at the HTTP boundary, against the operation's schema
 * (src/operations/). Unknown fields pass through to the engine; the fields llmux itself reads are
 * checked, and a failure names the field.
 */
import type { z } from 'zod';
import { invalidRequest, LlmuxError } from '../../errors.js';
import type { OperationName, OperationSpec, ValidatedRequest } from '../../operations/index.js';

export type { ValidatedRequest } from '../../operations/index.js';

/** The 400 for a body that failed a schema, naming the first field at fault (`param`). */
export function zodError(error: z.ZodError, fallback = 'invalid request body'): LlmuxError {
  const issue = error.issues[0];
  const param = issue?.path.map(String).join('.') || 'body';
  return invalidRequest(param, issue ? `invalid '${param}': ${issue.message}` : fallback);
}

interface Parsed extends Record<string, unknown> {
  model: string;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean | null } | null;
}

export function validateRequest(operation: OperationSpec, raw: unknown): ValidatedRequest | LlmuxError {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return invalidRequest('body', 'the request body must be a JSON object');
  }
  const parsed = operation.schema.safeParse(raw);
  if (!parsed.success) return zodError(parsed.error);
  const prepared = operation.prepare(parsed.data);
  if (prepared instanceof LlmuxError) return prepared;
  const { model, stream, stream_options: streamOptions, ...rest } = prepared as Parsed;
  return {
    operation: operation.name as OperationName,
    model,
    stream: stream === true,
    includeUsage: stream === true && streamOptions?.include_usage === true,
    body: rest,
  };
}
