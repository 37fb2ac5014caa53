/**
 * A request whose model a route serves (route.schema.ts): which backend it may select (`owned_by`,
 * `engine` or `inference_server` in the body, the `x-owned-by` header, or the `owned_by` query
 * parameter, as llm-d's gateway takes them), with the selector fields removed before the body goes
 * to a provider that would reject them.
 */
import type { IncomingMessage } from 'node:http';
import type { ValidatedRequest } from './request-schema.js';

const selectorFields = ['owned_by', 'engine', 'inference_server'] as const;

export function ownedBySelection(req: IncomingMessage, request: ValidatedRequest): string | undefined {
  let selected: string | undefined;
  for (const field of selectorFields) {
    const v = request.body[field];
    if (typeof v === 'string' && v !== '') selected ??= v;
    delete request.body[field];
  }
  const header = req.headers['x-owned-by'];
  if (!selected && typeof header === 'string' && header !== '') selected = header;
  if (!selected) {
    const query = new URL(req.url ?? '/', 'http://gateway').searchParams.get('owned_by');
    if (query) selected = query;
  }
  return selected;
}
