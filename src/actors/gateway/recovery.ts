/**
 * What a session does when its attempt fails retryably: before anything reached the client, the
 * request is retried whole on another worker (a few times); after, another worker carries the
 * stream on from exactly what the client has (mid-stream migration), when the model allows it and
 * the output is plain text. A pure decision over what the session knows; the session acts on it.
 */
import type { Continuation } from '../../engine-adapters/adapter.js';
import type { ErrorInfo } from '../../errors.js';
import type { Delivered } from './delivered.js';
import { requestedMaxTokens } from './prompt-tokens.js';
import type { ValidatedRequest } from './request-schema.js';

export type Recovery =
  | { type: 'fail' }
  /** Nothing reached the client: dispatch the request again. */
  | { type: 'retry' }
  /** Output started and cannot be carried on: the stream ends with an error. */
  | { type: 'unmigratable'; why: string }
  /** Everything the client asked for arrived; only the end was lost. */
  | { type: 'complete'; continuation: Continuation }
  | { type: 'migrate'; continuation: Continuation };

export interface RecoveryState {
  request: ValidatedRequest;
  /** Whether anything reached the client. */
  started: boolean;
  /** Dispatches before the first byte, and how many are allowed. */
  tries: number;
  maxAttempts: number;
  migrations: number;
  /** Migrations allowed after output started; 0 turns migration off. */
  migrationAttempts: number;
  delivered: Delivered;
}

export function planRecovery(error: ErrorInfo, state: RecoveryState): Recovery {
  if (!error.retryable) return { type: 'fail' };
  if (!state.started) return state.tries >= state.maxAttempts - 1 ? { type: 'fail' } : { type: 'retry' };
  const why = whyNotMigrate(state);
  if (why) return { type: 'unmigratable', why };
  // The client's limit on the completion (the reserved budget when it gave none).
  const continuation = state.delivered.continuation(requestedMaxTokens(state.request));
  return continuation.maxTokens === 0 ? { type: 'complete', continuation } : { type: 'migrate', continuation };
}

/** Structured output (JSON mode, a schema) is not continued by another engine: its grammar starts over. */
const isStructured = (body: Record<string, unknown>): boolean => {
  const format = body.response_format as { type?: unknown } | undefined;
  return format?.type === 'json_object' || format?.type === 'json_schema';
};

function whyNotMigrate({ migrations, migrationAttempts, delivered, request }: RecoveryState): string | undefined {
  if (migrations >= migrationAttempts) {
    return migrationAttempts === 0 ? 'migration is off for this model' : `${migrations} migration(s) already`;
  }
  if (!delivered.continuable) return 'the output is not plain text (tool calls, reasoning or several choices)';
  if (isStructured(request.body)) return 'structured output (response_format) is not continued';
  return undefined;
}
