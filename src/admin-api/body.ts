/** Admin request bodies: read as JSON, validated with a zod schema; a failure is a 400 naming the field. */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { LlmuxError } from '../errors.js';
import { readJsonBody } from '../actors/gateway/http-io.js';
import { zodError } from '../actors/gateway/request-schema.js';


export async function readBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T | LlmuxError> {
  const raw = await readJsonBody(req);
  if (raw instanceof LlmuxError) return raw;
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : zodError(parsed.error);
}
