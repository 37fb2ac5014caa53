/**
 * The simulated engine (`--timing engine`), after vLLM V1's scheduler and NVIDIA Dynamo's mocker: a
 * loop of steps, each one forward pass over a batch.
 *
 * Each step, within a budget of `maxBatchedTokens`:
 *   1. every running sequence gets its next tokens to compute (1 when decoding; a chunk of its
 *      prompt when prefilling: chunked prefill). A sequence that needs a KV block when none is free
 *      preempts the most recently admitted running one (recompute: its blocks are released, to the
 *      prefix cache where full, and it waits again at the head of the queue);
 *   2. if nothing was preempted, waiting sequences are admitted in arrival order while there are
 *      fewer than `maxNumSeqs` running and KV blocks for them above the watermark: a sequence
 *      first reuses its leading blocks found in the prefix cache and computes only the rest.
 * The step takes decodeBaseMs + decodePerSeqMs × (decoding sequences) + decodePerKvTokenMs × (their
 * context tokens) + (prefill tokens) ÷ prefillTokensPerSecond + prefillPerContextTokenMs × (prefill
 * tokens × the context each attends to), divided by `speedup`; when it ends, a sequence whose tokens are all
 * computed samples one more (its first is the time to first token), full blocks are cached, and the
 * KV events of the step are handed to `onEvents` as one batch, as vLLM publishes per step.
 *
 * So the time to first token grows with the prompt tokens that miss the cache and with the queue,
 * the inter-token latency with the batch, and a full KV cache shows as waiting and preemptions.
 */
import type { VllmEvent } from '../kv-events/vllm-events.js';
import type { BlockHash } from './block-hash.js';
import { type KvBlock, KvCache } from './kv-cache.js';
import type { SimCounters } from './sim-metrics.js';

export interface EngineModel {
  /** Tokens per KV block (vLLM's --block-size). */
  blockSize: number;
  /** KV blocks on the GPU (vLLM's num_gpu_blocks). */
  kvBlocks: number;
  /** Sequences running at once (vLLM's --max-num-seqs). */
  maxNumSeqs: number;
  /** Tokens computed per step (vLLM's --max-num-batched-tokens). */
  maxBatchedTokens: number;
  prefillTokensPerSecond: number;
  /** Added per pair of (prompt token computed, earlier token it attends to): attention over the context, cached or not. */
  prefillPerContextTokenMs: number;
  decodeBaseMs: number;
  decodePerSeqMs: number;
  /** Added per token of context a decoding sequence attends to (reading its KV from memory). */
  decodePerKvTokenMs: number;
  /** Share of the KV blocks kept free when admitting a sequence (Dynamo's mocker: 0.01). */
  watermark: number;
  /** Every step's time is divided by this (Dynamo's speedup_ratio). */
  speedup: number;
}

/**
 * Llama-3.1-8B-Instruct in BF16 on one H100 80GB under vLLM; the sources and the arithmetic are in
 * docs/simulator.md ("Calibration").
 */
export const defaultEngineModel: EngineModel = {
  blockSize: 16,
  kvBlocks: 26_000,
  maxNumSeqs: 1024,
  maxBatchedTokens: 8192,
  prefillTokensPerSecond: 20_000,
  prefillPerContextTokenMs: 0.0000016,
  decodeBaseMs: 6.2,
  decodePerSeqMs: 0.29,
  decodePerKvTokenMs: 0.00005,
  watermark: 0.01,
  speedup: 1,
};

export class PromptTooLongError extends Error {
  override readonly name = 'PromptTooLongError';
  readonly code = 'prompt_too_long';
}

interface Sequence {
  tokens: number[];
  maxTokens: number;
  generated: number;
  computed: number;
  blocks: KvBlock[];
  hashes: BlockHash[];
  /** Blocks already offered to the prefix cache. */
  stored: number;
  outputId: (i: number) => number;
  state: 'waiting' | 'running' | 'done';
  /** Tokens sampled and not yet taken by next(). */
  ready: number;
  wake: (() => void) | undefined;
}

/** One request's view of its sequence. */
export interface EngineRun {
  /** Resolves once the next token is sampled; rejects with the signal's reason if it aborts first. */
  next(signal: AbortSignal): Promise<void>;
  /** Ends the sequence (finished or abandoned) and frees its blocks; idempotent. */
  close(): void;
}

interface Planned {
  seq: Sequence;
  tokens: number;
}

/** How far behind its schedule the engine may fall and still catch up, ms: past it, lost time stays lost. */
const CATCH_UP_MS = 20;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => (ms >= 1 ? setTimeout(resolve, ms) : setImmediate(resolve)));

export class SimEngine {
  readonly kv: KvCache;
  readonly #running: Sequence[] = [];
  readonly #waiting: Sequence[] = [];
  #stepping = false;
  #closed = false;
  /** When the step under way ends, on performance.now()'s clock. */
  #due = 0;
  steps = 0;
  /** Model time: the sum of the steps' times before `speedup`, ms. Tests read latencies from it, free of wall-clock noise. */
  clockMs = 0;

  constructor(readonly model: EngineModel, readonly counters: SimCounters, readonly onEvents?: (events: VllmEvent[]) => void) {
    for (const key of ['blockSize', 'kvBlocks', 'maxNumSeqs', 'maxBatchedTokens'] as const) {
      if (!Number.isInteger(model[key]) || model[key] < 1) throw new RangeError(`${key} must be a positive integer, got ${model[key]}`);
    }
    for (const key of ['prefillTokensPerSecond', 'speedup'] as const) {
      if (!(model[key] > 0)) throw new RangeError(`${key} must be positive, got ${model[key]}`);
    }
    this.kv = new KvCache(model.kvBlocks, model.blockSize, onEvents !== undefined);
  }

  get running(): number {
    return this.#running.length;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Queues a sequence that will sample `maxTokens` tokens after `promptIds`; `outputId(i)` is the
   * id of its i-th. Throws PromptTooLongError when the whole sequence could never fit in the KV cache.
   */
  submit(promptIds: readonly number[], maxTokens: number, outputId: (i: number) => number): EngineRun {
    const bs = this.model.blockSize;
    if (Math.ceil((promptIds.length + maxTokens) / bs) > this.model.kvBlocks) {
      throw new PromptTooLongError(`a prompt of ${promptIds.length} tokens plus ${maxTokens} to generate needs more than the simulated KV cache's ${this.model.kvBlocks} blocks of ${bs} tokens`);
    }
    const seq: Sequence = { tokens: [...promptIds], maxTokens, generated: 0, computed: 0, blocks: [], hashes: [], stored: 0, outputId, state: 'waiting', ready: 0, wake: undefined };
    if (maxTokens <= 0) seq.state = 'done';
    else {
      this.#waiting.push(seq);
      this.#kick();
    }
    return {
      next: (signal) => this.#next(seq, signal),
      close: () => this.#finish(seq),
    };
  }

  /** Stops stepping; sequences still queued never get a token. */
  close(): void {
    this.#closed = true;
  }

  #next(seq: Sequence, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (seq.ready > 0) {
      seq.ready--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        seq.wake = undefined;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      seq.wake = () => {
        signal.removeEventListener('abort', onAbort);
        seq.wake = undefined;
        seq.ready--;
        resolve();
      };
    });
  }

  #finish(seq: Sequence): void {
    if (seq.state === 'done') return;
    const queue = seq.state === 'running' ? this.#running : this.#waiting;
    const at = queue.indexOf(seq);
    if (at >= 0) queue.splice(at, 1);
    this.kv.release(seq.blocks);
    seq.blocks = [];
    seq.state = 'done';
  }

  #kick(): void {
    if (this.#stepping || this.#closed) return;
    this.#stepping = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    this.#due = performance.now(); // an idle engine owes no time
    try {
      while (!this.#closed && (this.#running.length > 0 || this.#waiting.length > 0)) {
        const plan = this.#schedule();
        const ms = this.#stepMs(plan);
        // Steps end on a schedule, not a sleep after the last: a timer that fires late (they round up,
        // and a busy event loop delays them) is made up by the next steps, up to CATCH_UP_MS behind.
        const now = performance.now();
        this.#due = Math.max(this.#due, now - CATCH_UP_MS) + ms / this.model.speedup;
        await sleep(this.#due - now);
        if (this.#closed) return;
        this.clockMs += ms;
        this.#apply(plan);
        this.steps++;
        const events = this.kv.drainEvents();
        if (events.length > 0) this.onEvents?.(events);
      }
    } finally {
      this.#stepping = false;
    }
  }

  #stepMs(plan: readonly Planned[]): number {
    if (plan.length === 0) return 0;
    let decoding = 0;
    let context = 0;
    let prefill = 0;
    let pairs = 0;
    for (const { seq, tokens } of plan) {
      if (seq.generated > 0 && tokens === 1 && seq.computed === seq.tokens.length - 1) {
        decoding++;
        context += seq.computed;
      } else {
        prefill += tokens;
        pairs += tokens * (seq.computed + tokens / 2); // causal: each new token sees the cached ones and half the chunk
      }
    }
    const { decodeBaseMs, decodePerSeqMs, decodePerKvTokenMs, prefillTokensPerSecond, prefillPerContextTokenMs } = this.model;
    return decodeBaseMs + decodePerSeqMs * decoding + decodePerKvTokenMs * context
      + (1000 * prefill) / prefillTokensPerSecond + prefillPerContextTokenMs * pairs;
  }

  /** Blocks `seq` needs beyond its own to hold `tokens` more; allocates them, or returns false when the cache has none. */
  #grow(seq: Sequence, tokens: number): boolean {
    const needed = Math.ceil((seq.computed + tokens) / this.model.blockSize);
    while (seq.blocks.length < needed) {
      const block = this.kv.allocate();
      if (!block) return false;
      seq.blocks.push(block);
    }
    return true;
  }

  #preempt(seq: Sequence): void {
    this.kv.release(seq.blocks);
    seq.blocks = [];
    seq.computed = 0;
    seq.stored = 0;
    seq.state = 'waiting';
    this.#waiting.unshift(seq);
    this.counters.preemptions++;
  }

  #schedule(): Planned[] {
    const plan: Planned[] = [];
    let budget = this.model.maxBatchedTokens;
    let preempted = false;
    for (let i = 0; i < this.#running.length && budget > 0; i++) {
      const seq = this.#running[i] as Sequence;
      const tokens = Math.min(seq.tokens.length - seq.computed, budget);
      let scheduled = true;
      while (!this.#grow(seq, tokens)) {
        const victim = this.#running.pop() as Sequence;
        this.#preempt(victim);
        preempted = true;
        if (victim === seq) {
          scheduled = false;
          break;
        }
      }
      if (!scheduled) break;
      plan.push({ seq, tokens });
      budget -= tokens;
    }
    if (preempted) return plan;
    const bs = this.model.blockSize;
    const reserve = Math.ceil(this.model.watermark * this.model.kvBlocks);
    while (budget > 0 && this.#waiting.length > 0 && this.#running.length < this.model.maxNumSeqs) {
      const seq = this.#waiting[0] as Sequence;
      const hashes = this.kv.hashes(seq.tokens, seq.hashes);
      // At least one token is computed, to sample from: a fully cached prompt recomputes its last block.
      const hits = Math.min(this.kv.hits(hashes), Math.floor((seq.tokens.length - 1) / bs));
      const tokens = Math.min(seq.tokens.length - hits * bs, budget);
      const fresh = Math.ceil((hits * bs + tokens) / bs) - hits;
      if (fresh > this.kv.free - this.kv.idleAmong(hashes, hits) - (this.#running.length > 0 ? reserve : 0)) break;
      this.#waiting.shift();
      this.counters.prefixCacheQueries += seq.tokens.length;
      this.counters.prefixCacheHits += hits * bs;
      for (let b = 0; b < hits; b++) seq.blocks.push(this.kv.reuse(hashes[b] as BlockHash));
      seq.computed = hits * bs;
      seq.stored = hits;
      this.#grow(seq, tokens);
      seq.state = 'running';
      this.#running.push(seq);
      plan.push({ seq, tokens });
      budget -= tokens;
    }
    return plan;
  }

  #apply(plan: readonly Planned[]): void {
    const bs = this.model.blockSize;
    for (const { seq, tokens } of plan) {
      if (seq.state !== 'running') continue; // abandoned during the step
      seq.computed += tokens;
      const full = Math.floor(seq.computed / bs);
      if (full > seq.stored) {
        this.kv.hashes(seq.tokens, seq.hashes);
        this.kv.store(seq.blocks, seq.hashes, seq.tokens, seq.stored, full);
        seq.stored = full;
      }
      if (seq.computed < seq.tokens.length) continue; // prefill continues next step
      seq.tokens.push(seq.outputId(seq.generated));
      seq.generated++;
      seq.ready++;
      seq.wake?.();
      if (seq.generated === seq.maxTokens) this.#finish(seq);
    }
  }
}
