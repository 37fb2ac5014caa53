/**
 * The token counter: prompt and completion counts for the gateway and workers, on a piscina pool
 * so a long prompt never blocks the event loop.
 *
 * A thread hop costs 45–90 µs here (DESIGN.md §6), more than counting a short prompt, so:
 * - short texts (≤ inlineMaxChars) for the OpenAI encodings are counted inline, on the calling
 *   thread (their vocabulary loads there once, ~0.3 s, on first use); the Hugging Face vocabularies
 *   take seconds to load and hundreds of MB, so they live only on the pool's threads;
 * - everything else is batched: jobs asked for in the same event-loop turn travel to the pool as
 *   one task (up to maxBatch jobs), so the hop is paid once per batch, not per prompt.
 */
import { availableParallelism } from 'node:os';
import { compiledFile } from '../os/compiled-file.js';
import { Piscina } from 'piscina';
import type { ChatMessage } from '../engine-adapters/adapter.js';
import { runJob } from './count-job.js';
import type { CountBatch, CountJob, CountResult } from './count-protocol.js';
import { contentText } from './chat-template.js';
import { isOpenAiEncoding } from './tokenizer-names.js';

export interface TokenCounterOptions {
  /** Pool threads. Default: the cores minus one, at least 1, at most 4. */
  threads?: number;
  /** Texts up to this many characters are counted inline (OpenAI encodings). 0 sends everything to the pool. Default 1024. */
  inlineMaxChars?: number;
  /** Jobs per pool task at most. Default 64. */
  maxBatch?: number;
}

export interface TokenCounterStats {
  /** Jobs counted on the calling thread. */
  inline: number;
  /** Jobs counted on the pool. */
  pooled: number;
  /** Pool tasks sent (each carries up to maxBatch jobs). */
  batches: number;
}

export interface TokenCounter {
  /** Prompt tokens of a chat as the model sees it, chat template included. */
  countChat(tokenizer: string, messages: readonly ChatMessage[]): Promise<number>;
  countText(tokenizer: string, text: string): Promise<number>;
  /** One count per text, batched together. */
  countTexts(tokenizer: string, texts: readonly string[]): Promise<number[]>;
  stats(): TokenCounterStats;
  /** Stops the pool's threads; counting afterwards fails. */
  close(): Promise<void>;
}

interface Pending {
  job: CountJob;
  resolve(tokens: number): void;
  reject(error: Error): void;
}

/** The compiled worker file: next to this one in dist/, or in dist/ when running from the TypeScript sources (tests). */
const workerFile = (): string => compiledFile(import.meta.url, 'count-worker.js');

function rebuild(result: Extract<CountResult, { ok: false }>): Error {
  const error = new Error(result.message);
  error.name = result.name;
  return error;
}

const jobChars = (job: CountJob): number =>
  job.type === 'text' ? job.text.length : job.messages.reduce((n, m) => n + contentText(m.content).length, 0);

export function createTokenCounter(options: TokenCounterOptions = {}): TokenCounter {
  const threads = options.threads ?? Math.min(4, Math.max(1, availableParallelism() - 1));
  const inlineMaxChars = options.inlineMaxChars ?? 1024;
  const maxBatch = options.maxBatch ?? 64;
  const stats: TokenCounterStats = { inline: 0, pooled: 0, batches: 0 };
  let pool: Piscina | undefined;
  let closed = false;
  let pending: Pending[] = [];
  let flushScheduled = false;

  const poolFor = (): Piscina => {
    pool ??= new Piscina({ filename: workerFile(), minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
    return pool;
  };

  const send = (batch: Pending[]): void => {
    stats.batches++;
    stats.pooled += batch.length;
    const jobs: CountBatch = batch.map((p) => p.job);
    (poolFor().run(jobs) as Promise<CountResult[]>).then(
      (results) => batch.forEach((p, i) => {
        const r = results[i];
        if (r?.ok) p.resolve(r.tokens);
        else p.reject(r ? rebuild(r) : new Error('the token counter lost a result'));
      }),
      (error: unknown) => batch.forEach((p) => p.reject(error instanceof Error ? error : new Error(String(error)))),
    );
  };

  const flush = (): void => {
    flushScheduled = false;
    const all = pending;
    pending = [];
    try {
      for (let i = 0; i < all.length; i += maxBatch) send(all.slice(i, i + maxBatch));
    } catch (error) {
      for (const p of all) p.reject(error as Error);
    }
  };

  const count = (job: CountJob): Promise<number> => {
    if (closed) return Promise.reject(new Error('the token counter is closed'));
    if (inlineMaxChars > 0 && isOpenAiEncoding(job.tokenizer) && jobChars(job) <= inlineMaxChars) {
      stats.inline++;
      const r = runJob(job);
      return r.ok ? Promise.resolve(r.tokens) : Promise.reject(rebuild(r));
    }
    return new Promise<number>((resolve, reject) => {
      pending.push({ job, resolve, reject });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
  };

  return {
    countChat: (tokenizer, messages) => count({ type: 'chat', tokenizer, messages }),
    countText: (tokenizer, text) => count({ type: 'text', tokenizer, text }),
    countTexts: (tokenizer, texts) => Promise.all(texts.map((text) => count({ type: 'text', tokenizer, text }))),
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      if (pending.length > 0) flush();
      await pool?.destroy();
    },
  };
}
