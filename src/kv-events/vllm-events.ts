/**
 * vLLM's KV cache event payload (vllm/distributed/kv_events.py), the third part of each ZMQ message
 * `[topic, seq (8 bytes, big-endian), payload]`: a msgspec-msgpack `KVEventBatch`. Two encodings
 * exist in vLLM's history, and both are read here:
 *   array-like (the structs declared `array_like=True`, as in vLLM's documented subscriber example):
 *     [ts, [event…], data_parallel_rank?]
 *     event: ["BlockStored", block_hashes, parent_block_hash, token_ids, block_size, lora_id, medium, …]
 *            ["BlockRemoved", block_hashes, medium, …]   ["AllBlocksCleared"]
 *   map (the structs without `array_like`, as on vLLM's main branch in 2026):
 *     {ts, events: [{type: "BlockStored", block_hashes, parent_block_hash, token_ids, block_size, …}], data_parallel_rank}
 * Fields after the ones listed (lora_name, extra_keys, group_idx…) are ignored. Block hashes are
 * 64-bit integers (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES, the default) or bytes; both become strings
 * (decimal, or hex for bytes), losing nothing. SGLang's publisher sends the same structures.
 *
 * Everything from the engine is hostile until checked: a payload that is not one of these shapes is a
 * KvEventDecodeError, never a crash.
 */
import { Packr, Unpackr } from 'msgpackr';
import type { KvCacheEvent } from '../protocol/kv-events.js';

export class KvEventDecodeError extends Error {
  override readonly name = 'KvEventDecodeError';
  readonly code = 'kv_event_decode';
}

export interface DecodedEventBatch {
  /** Seconds since the epoch, the engine's clock. */
  ts: number;
  events: KvCacheEvent[];
  /** The block size the stored events declare (the last one), when any did. */
  blockSize?: number;
  dataParallelRank?: number;
}

/** Event lists larger than this are refused: a real step stores or removes far fewer. */
const MAX_EVENTS = 100_000;
const MAX_TOKENS = 10_000_000;

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'string' });

const fail = (what: string): never => {
  throw new KvEventDecodeError(what);
};

function blockHash(value: unknown, what: string): string {
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) return value; // int64 / uint64, as decoded
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (value instanceof Uint8Array && value.length > 0 && value.length <= 64) return Buffer.from(value).toString('hex');
  return fail(`${what} is not a block hash`);
}

function hashList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_EVENTS) return fail(`${what} is not a list of block hashes`);
  return value.map((v) => blockHash(v, what));
}

function tokenList(value: unknown): number[] {
  if (!Array.isArray(value) || value.length > MAX_TOKENS) return fail('token_ids is not a list');
  for (const t of value) if (typeof t !== 'number' || !Number.isInteger(t) || t < 0) fail('token_ids holds a non-token');
  return value as number[];
}

interface RawStored { hashes: unknown; parent: unknown; tokens: unknown; blockSize: unknown }

function stored(raw: RawStored): { event: KvCacheEvent; blockSize: number } {
  const blocks = hashList(raw.hashes, 'block_hashes');
  const tokens = tokenList(raw.tokens);
  const blockSize = raw.blockSize;
  if (typeof blockSize !== 'number' || !Number.isInteger(blockSize) || blockSize < 1 || blockSize > 1 << 20) return fail('block_size is not a positive integer');
  // vLLM stores full blocks only: the tokens are exactly the blocks'.
  if (tokens.length !== blocks.length * blockSize) fail(`BlockStored has ${tokens.length} tokens for ${blocks.length} blocks of ${blockSize}`);
  const parent = raw.parent === null || raw.parent === undefined ? undefined : blockHash(raw.parent, 'parent_block_hash');
  return { event: { type: 'stored', blocks, ...(parent !== undefined ? { parent } : {}), tokens }, blockSize };
}

function event(raw: unknown): { event: KvCacheEvent; blockSize?: number } {
  if (Array.isArray(raw)) {
    switch (raw[0]) {
      case 'BlockStored':
        return stored({ hashes: raw[1], parent: raw[2], tokens: raw[3], blockSize: raw[4] });
      case 'BlockRemoved':
        return { event: { type: 'removed', blocks: hashList(raw[1], 'block_hashes') } };
      case 'AllBlocksCleared':
        return { event: { type: 'cleared' } };
      default:
        return fail(`unknown event ${JSON.stringify(String(raw[0])).slice(0, 40)}`);
    }
  }
  if (typeof raw === 'object' && raw !== null) {
    const r = raw as Record<string, unknown>;
    switch (r.type) {
      case 'BlockStored':
        return stored({ hashes: r.block_hashes, parent: r.parent_block_hash, tokens: r.token_ids, blockSize: r.block_size });
      case 'BlockRemoved':
        return { event: { type: 'removed', blocks: hashList(r.block_hashes, 'block_hashes') } };
      case 'AllBlocksCleared':
        return { event: { type: 'cleared' } };
      default:
        return fail(`unknown event ${JSON.stringify(String(r.type)).slice(0, 40)}`);
    }
  }
  return fail('an event is neither an array nor a map');
}

export function decodeEventBatch(payload: Uint8Array): DecodedEventBatch {
  let raw: unknown;
  try {
    raw = unpackr.unpack(payload);
  } catch (error) {
    return fail(`not msgpack: ${error instanceof Error ? error.message : String(error)}`);
  }
  let ts: unknown;
  let events: unknown;
  let rank: unknown;
  if (Array.isArray(raw)) [ts, events, rank] = raw;
  else if (typeof raw === 'object' && raw !== null) ({ ts, events, data_parallel_rank: rank } = raw as Record<string, unknown>);
  else return fail('the batch is neither an array nor a map');
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return fail('ts is not a number');
  if (!Array.isArray(events) || events.length > MAX_EVENTS) return fail('events is not a list');
  const out: KvCacheEvent[] = [];
  let blockSize: number | undefined;
  for (const e of events) {
    const decoded = event(e);
    out.push(decoded.event);
    if (decoded.blockSize !== undefined) blockSize = decoded.blockSize;
  }
  return {
    ts,
    events: out,
    ...(blockSize !== undefined ? { blockSize } : {}),
    ...(typeof rank === 'number' && Number.isInteger(rank) ? { dataParallelRank: rank } : {}),
  };
}

/** One event as an engine sends it, for encodeEventBatch: hashes as unsigned 64-bit integers. */
export type VllmEvent =
  | { type: 'BlockStored'; blockHashes: bigint[]; parent: bigint | undefined; tokenIds: number[]; blockSize: number }
  | { type: 'BlockRemoved'; blockHashes: bigint[] }
  | { type: 'AllBlocksCleared' };

const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * A `KVEventBatch` payload as vLLM's msgspec encoder writes it (`form` picks the struct layout; the
 * simulator sends array-like by default). lora_id and medium are sent as vLLM sends them for a base
 * model on the GPU: nil and "GPU". The array layout has exactly the fields of the array-like
 * structs (through `medium`), as a decoder of that era requires; the map layout adds `lora_name`.
 */
export function encodeEventBatch(ts: number, events: readonly VllmEvent[], form: 'array' | 'map' = 'array', dataParallelRank = 0): Uint8Array {
  const encoded = events.map((e) => {
    switch (e.type) {
      case 'BlockStored':
        return form === 'array'
          ? ['BlockStored', e.blockHashes, e.parent ?? null, e.tokenIds, e.blockSize, null, 'GPU']
          : { type: 'BlockStored', block_hashes: e.blockHashes, parent_block_hash: e.parent ?? null, token_ids: e.tokenIds, block_size: e.blockSize, lora_id: null, medium: 'GPU', lora_name: null };
      case 'BlockRemoved':
        return form === 'array' ? ['BlockRemoved', e.blockHashes, 'GPU'] : { type: 'BlockRemoved', block_hashes: e.blockHashes, medium: 'GPU' };
      case 'AllBlocksCleared':
        return form === 'array' ? ['AllBlocksCleared'] : { type: 'AllBlocksCleared' };
    }
  });
  const batch = form === 'array' ? [ts, encoded, dataParallelRank] : { ts, events: encoded, data_parallel_rank: dataParallelRank };
  return packr.pack(batch);
}

/** The 8-byte big-endian sequence number of a message's second part; undefined when it is not 8 bytes. */
export function readSeq(part: Uint8Array | undefined): bigint | undefined {
  if (!part || part.length !== 8) return undefined;
  return Buffer.from(part.buffer, part.byteOffset, 8).readBigInt64BE(0);
}

export function seqBytes(seq: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(seq);
  return b;
}
