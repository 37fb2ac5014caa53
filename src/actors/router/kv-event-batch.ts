/**
 * A KV event batch off NATS (protocol/kv-events.ts), checked before it touches the index: a stolen
 * worker credential may send anything on its own subject, so sizes are bounded and every field typed.
 */
import { isCount, isFiniteNumber, isObject, isString } from '../../protocol/guards.js';
import type { KvCacheEvent, KvEventBatch } from '../../protocol/kv-events.js';

/** The most of each a batch may carry: far beyond one engine step's events. */
export const kvBatchBounds = { events: 4_096, blocksPerEvent: 4_096, hashChars: 128, blockSize: 1_024, tokensPerEvent: 1 << 20 } as const;

const isHash = (v: unknown): v is string => isString(v) && v.length > 0 && v.length <= kvBatchBounds.hashChars;
const isHashes = (v: unknown): v is string[] => Array.isArray(v) && v.length <= kvBatchBounds.blocksPerEvent && v.every(isHash);

function isEvent(v: unknown): v is KvCacheEvent {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'stored':
      return isHashes(v.blocks) && (v.parent === undefined || isHash(v.parent)) && Array.isArray(v.tokens) &&
        v.tokens.length <= kvBatchBounds.tokensPerEvent && v.tokens.every(Number.isInteger);
    case 'removed':
      return isHashes(v.blocks);
    case 'cleared':
      return true;
    default:
      return false;
  }
}

export function parseKvEventBatch(body: unknown): KvEventBatch | undefined {
  if (!isObject(body) || body.type !== 'kv-events' || !isString(body.workerId) || !isString(body.model)) return undefined;
  if (!Number.isInteger(body.blockSize) || (body.blockSize as number) < 1 || (body.blockSize as number) > kvBatchBounds.blockSize) return undefined;
  if (!isCount(body.seq) || !isFiniteNumber(body.ts)) return undefined;
  if (!Array.isArray(body.events) || body.events.length > kvBatchBounds.events || !body.events.every(isEvent)) return undefined;
  return body as unknown as KvEventBatch;
}
