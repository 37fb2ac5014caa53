/** The whole main-thread ↔ pool-thread protocol of the token counter: one batch of jobs in, one result per job out. */
import type { ChatMessage } from '../engine-adapters/adapter.js';

export type CountJob =
  | { type: 'text'; tokenizer: string; text: string }
  | { type: 'chat'; tokenizer: string; messages: readonly ChatMessage[] };

/** Errors cross the thread boundary as data (class identity does not survive structured clone). */
export type CountResult = { ok: true; tokens: number } | { ok: false; name: string; message: string };

export type CountBatch = CountJob[];
