/**
 * KV cache events on NATS: what a worker relays from its engine's own event feed (vLLM's
 * `BlockStored`, `BlockRemoved` and `AllBlocksCleared`, SGLang's equivalents), so routers can keep
 * an exact index of which blocks each engine holds. Published by the worker on
 * `subjects.kvEvents(cluster, workerId)`; a worker's NATS permissions allow it only its own subject.
 *
 * Block hashes are the engine's own (vLLM sends 64-bit integers or bytes), carried as strings so no
 * precision is lost. `tokens` are the token ids of the stored blocks, `blockSize` per block, in
 * order: a router hashes them its own way to match a prompt's blocks.
 */
export type KvCacheEvent =
  | { type: 'stored'; blocks: string[]; parent?: string; tokens: number[] }
  | { type: 'removed'; blocks: string[] }
  | { type: 'cleared' };

export interface KvEventBatch {
  type: 'kv-events';
  workerId: string;
  /** The model the engine serves (the worker's model name). */
  model: string;
  /** Tokens per block, as the engine is configured. */
  blockSize: number;
  /** Per worker, one more per batch; a gap means batches were lost, and the receiver forgets that worker's blocks. */
  seq: number;
  /** The engine's timestamp, seconds since the epoch. */
  ts: number;
  events: KvCacheEvent[];
}
