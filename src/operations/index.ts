/** Every API operation, by name. Adding one is one file plus one line here. */
import { chat } from './chat.js';
import { completion } from './completion.js';
import { embeddings } from './embeddings.js';
import { messages } from './messages.js';
import type { OperationSpec } from './operation.js';
import { responses } from './responses.js';

export const operations = {
  chat,
  completion,
  embeddings,
  responses,
  messages,
} as const satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof operations;
export type { OperationSpec, ValidatedRequest } from './operation.js';

export function isOperationName(value: unknown): value is OperationName {
  return typeof value === 'string' && Object.hasOwn(operations, value);
}

const byPath = new Map<string, OperationSpec>(Object.values(operations).map((o) => [o.path, o]));

/** The operation served at `path`, if any. */
export function operationAt(path: string): OperationSpec | undefined {
  return byPath.get(path);
}

/** `GET <path>/<id>` of an operation that keeps its answers: the operation and the id. */
export function storedAnswerAt(path: string): { operation: OperationSpec; id: string } | undefined {
  for (const operation of byPath.values()) {
    if (operation.stateful && path.startsWith(`${operation.path}/`)) return { operation, id: path.slice(operation.path.length + 1) };
  }
  return undefined;
}
