/**
 * What the router needs from a request, worked out at the gateway (which has the body and headers):
 * the session-affinity key, the prompt's prefix blocks (only for the methods that use them), the
 * tokens it may cost, and a routing method the request asked for where its model allows one.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { invalidRequest, type LlmuxError } from '../../errors.js';
import { operations } from '../../operations/index.js';
import type { LlmConfig, RoutingMethod } from '../../control/function.schema.js';
import { routingMethods } from '../../control/function.schema.js';
import { hash53, prefixBlocks } from '../router/hash.js';
import { defaultKvBlockSize } from '../router/methods/cost-model.js';
import { prefixMethods } from '../router/methods/index.js';
import { tokenBlocks } from '../router/token-blocks.js';
import { promptTokenIds } from '../../tokenize/prompt-token-ids.js';
import type { RoutingHints } from '../worker/worker.protocol.js';
import type { ValidatedRequest } from './request-schema.js';

export const routingMethodHeader = 'x-llmux-routing-method';
/** Prefix blocks sent to the router at most (64 characters each: the first 32 K characters). */
const maxBlocks = 512;
/** Completion tokens assumed for a request without `max_tokens`, when estimating its cost. */
export const assumedCompletionTokens = 256;

function affinityKey(request: ValidatedRequest, headers: IncomingHttpHeaders): string {
  const cacheKey = request.body.prompt_cache_key;
  if (typeof cacheKey === 'string' && cacheKey !== '') return `prompt_cache_key:${cacheKey}`;
  const session = headers['x-session-id'];
  if (typeof session === 'string' && session !== '') return `session:${session}`;
  return `leading:${hash53(operations[request.operation].affinityText(request.body)).toString(36)}`;
}

/** The method the request asked for, or undefined; a 400 when it names an unknown one or its model does not allow it. */
export function requestedMethod(headers: IncomingHttpHeaders, llmConfig: LlmConfig, clientModel: string): RoutingMethod | undefined | LlmuxError {
  const asked = headers[routingMethodHeader];
  if (asked === undefined) return undefined;
  if (typeof asked !== 'string' || !(routingMethods as readonly string[]).includes(asked)) {
    return invalidRequest(routingMethodHeader, `unknown routing method '${String(asked)}'; known: ${routingMethods.join(', ')}`);
  }
  const allowed = llmConfig.routing?.allowOverride ?? [];
  if (!allowed.includes(asked as RoutingMethod)) {
    return invalidRequest(routingMethodHeader,
      `model '${clientModel}' does not let requests choose their routing method${allowed.length ? ` '${asked}' (allowed: ${allowed.join(', ')})` : ''}`);
  }
  return asked as RoutingMethod;
}

/**
 * The prompt's token-id blocks, chained (router/token-blocks.ts), in the model's KV block size, for
 * matching against engines' KV events; only where its tokenizer gives token ids cheaply here.
 */
function kvBlocks(request: ValidatedRequest, kv: KvHints): Pick<RoutingHints, 'tokenBlocks' | 'blockSize'> {
  const ids = promptTokenIds(kv.tokenizer, request.body);
  if (!ids) return {};
  const blockSize = kv.blockSize ?? defaultKvBlockSize;
  return { tokenBlocks: tokenBlocks(ids, blockSize, maxBlocks), blockSize };
}

/** What naming the prompt's KV blocks needs: the model's tokenizer, and its engines' block size (llmConfig.routing.kvBlockSize). */
export interface KvHints {
  tokenizer: string;
  blockSize?: number;
}

export function routingHints(request: ValidatedRequest, headers: IncomingHttpHeaders, method: RoutingMethod, override: RoutingMethod | undefined,
  promptTokens: number, maxTokens: number | undefined, kv?: KvHints): Omit<RoutingHints, 'attempt'> {
  return {
    // Only the method that uses them pays for the key and the blocks (both hash prompt text).
    ...(method === 'session-affinity' ? { key: affinityKey(request, headers) } : {}),
    tokens: promptTokens + (maxTokens ?? assumedCompletionTokens),
    ...(override ? { method: override } : {}),
    ...(prefixMethods.has(method) ? { blocks: prefixBlocks(operations[request.operation].promptText(request.body), maxBlocks) } : {}),
    ...(prefixMethods.has(method) && kv ? kvBlocks(request, kv) : {}),
  };
}
