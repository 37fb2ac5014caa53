/**
 * The stream journal's entry protocol and its writer. A resumable stream journals, under its stream
 * id, an `open` (who may resume it), every SSE event exactly as the client got it (numbered, without
 * its `id:` line), `alive` while nothing else was written, and `end`. Any gateway can then replay it
 * to a client that lost its connection (resume.ts).
 */
import { createHash } from 'node:crypto';
import { randomBase64url } from './random-pool.js';
import type { Logger } from '../../observability/logger.js';
import type { Principal } from '../../policy/principal.js';
import { isFiniteNumber, isObject, isString } from '../../protocol/guards.js';
import type { Journal, Transport } from '../../transport/transport.js';

/** Where resumable streams are kept: memory storage, bounded by age and bytes (docs/api.md, "Resumable streams"). */
export const streamJournalLimits = { name: 'LLMUX_STREAMS', subjectPrefix: 'llmux.streams', maxAgeMs: 5 * 60_000, maxBytes: 256 * 1024 * 1024 } as const;

export function openStreamJournal(transport: Transport): Promise<Journal> {
  const { name, ...options } = streamJournalLimits;
  return transport.journal(name, options);
}

export type JournalEntry =
  /** `owner`: ownerOf() of the principal that started the stream; `created`: epoch ms. */
  | { type: 'open'; owner: string; requestId: string; created: number }
  /** One SSE event's text exactly as the client got it, without its `id:` line, e.g. 'data: {...}\n\n'. */
  | { type: 'event'; id: number; text: string }
  /** Written when no other entry was written for the writer's alive interval: the writer still holds the stream. */
  | { type: 'alive' }
  /** The stream is over (complete, or ended by an error event). */
  | { type: 'end' };

export function parseJournalEntry(body: unknown): JournalEntry | undefined {
  if (!isObject(body)) return undefined;
  switch (body.type) {
    case 'open':
      return isString(body.owner) && isString(body.requestId) && isFiniteNumber(body.created)
        ? { type: 'open', owner: body.owner, requestId: body.requestId, created: body.created }
        : undefined;
    case 'event':
      return Number.isSafeInteger(body.id) && isString(body.text) ? { type: 'event', id: body.id as number, text: body.text } : undefined;
    case 'alive':
      return { type: 'alive' };
    case 'end':
      return { type: 'end' };
    default:
      return undefined;
  }
}

/**
 * Who may resume a stream: a hash of tenant and key id, so the journal (readable by anything on the
 * bus) holds no identity in the clear. Key ids are not secrets, but nothing here needs them raw.
 */
export function ownerOf(principal: Principal): string {
  return createHash('sha256').update(JSON.stringify(['llmux-stream-owner', principal.tenant, principal.keyId])).digest('base64url');
}

/** 128 random bits, base64url (22 characters): unguessable, and safe in a path, a subject and an SSE id. */
export function newStreamId(): string {
  return randomBase64url(16);
}

const streamIdPattern = /^[A-Za-z0-9_-]{22}$/;

export function isStreamId(value: string): boolean {
  return streamIdPattern.test(value);
}

/** The SSE `id:` of event `id` of a stream; a client's `Last-Event-ID` sends it back. */
export const sseId = (streamId: string, id: number): string => `${streamId}.${id}`;

/** Reads a `Last-Event-ID` value written by sseId(); undefined when it is not one. */
export function parseSseId(value: string): { streamId: string; id: number } | undefined {
  const dot = value.lastIndexOf('.');
  const streamId = value.slice(0, dot);
  const digits = value.slice(dot + 1);
  if (dot < 0 || !isStreamId(streamId) || !/^(0|[1-9][0-9]{0,15})$/.test(digits)) return undefined;
  const id = Number(digits);
  return Number.isSafeInteger(id) ? { streamId, id } : undefined;
}

export interface JournalWriterOptions {
  /** An `alive` entry is written when nothing was written for this long. Default 5000 ms. */
  aliveEveryMs?: number;
  /** Entries waiting for their append past this many: the journal is falling behind and is given up. Default 1000. */
  maxQueued?: number;
}

/**
 * Writes one stream's entries, in order, each append after the previous one resolved. It never
 * blocks or throws into its caller: the client stream must not wait on the journal. The first
 * failed append is logged and stops the journaling of this stream, so a reader never sees a gap:
 * it sees the entries stop, and tells its client the stream cannot be resumed further.
 */
export class JournalWriter {
  readonly #aliveEveryMs: number;
  readonly #maxQueued: number;
  readonly #queue: JournalEntry[] = [];
  /** The running append loop; `#pumping` is cleared in the same tick the loop finds the queue empty. */
  #pump: Promise<void> = Promise.resolve();
  #pumping = false;
  #timer: NodeJS.Timeout | undefined;
  #lastWrite = 0;
  #failures = 0;
  #broken = false;
  #ended = false;

  constructor(readonly journal: Journal, readonly streamId: string, readonly owner: string, readonly log: Logger, options: JournalWriterOptions = {}) {
    this.#aliveEveryMs = options.aliveEveryMs ?? 5_000;
    this.#maxQueued = options.maxQueued ?? 1_000;
  }

  /** Entries not stored: the failed append and every entry given up after it. */
  get failures(): number {
    return this.#failures;
  }

  open(requestId: string): void {
    this.#enqueue({ type: 'open', owner: this.owner, requestId, created: Date.now() });
    if (this.#timer || this.#ended || this.#broken) return;
    // Checked at half the interval, so the gap between entries stays under 1.5 intervals without
    // re-arming a timer on every event.
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastWrite >= this.#aliveEveryMs) this.#enqueue({ type: 'alive' });
    }, Math.max(1, Math.floor(this.#aliveEveryMs / 2)));
    this.#timer.unref();
  }

  event(id: number, text: string): void {
    this.#enqueue({ type: 'event', id, text });
  }

  end(): void {
    if (this.#ended) return;
    this.#enqueue({ type: 'end' });
    this.#ended = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Resolves once every entry handed over so far is stored or given up (tests, orderly shutdown). */
  async settled(): Promise<void> {
    while (this.#pumping) await this.#pump;
  }

  #enqueue(entry: JournalEntry): void {
    if (this.#ended) return;
    this.#lastWrite = Date.now();
    if (this.#broken) {
      this.#failures++;
      return;
    }
    if (this.#queue.length >= this.#maxQueued) {
      this.#fail(new Error(`${this.#queue.length} entries waiting for the journal`));
      this.#failures++;
      return;
    }
    this.#queue.push(entry);
    if (this.#pumping) return;
    this.#pumping = true;
    this.#pump = this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      for (let entry = this.#queue.shift(); entry; entry = this.#queue.shift()) {
        try {
          await this.journal.append(this.streamId, entry);
        } catch (error) {
          this.#failures++;
          this.#fail(error);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Gives up journaling this stream: logged once; whatever is still queued counts as failed. */
  #fail(error: unknown): void {
    if (!this.#broken) {
      this.#broken = true;
      this.log.warn({ streamId: this.streamId, err: error }, 'stream journal append failed; the rest of this stream is not journaled, so it cannot be resumed past here');
    }
    this.#failures += this.#queue.length;
    this.#queue.length = 0;
    clearInterval(this.#timer); // alive entries would only count more failures
    this.#timer = undefined;
  }
}
