/**
 * Actors on a worker thread, supervised from the main thread. The thread runs an entry module
 * (launch/thread-entry.ts) that starts its actors, each with its own NATS connection there, and
 * says `ready`. The host restarts a thread that ends without being asked to (an uncaught error, a
 * crash), with the backoff of supervision.ts, and gives up after `maxRestarts` within `windowMs`:
 * supervision across the boundary, as the actor runtime does within a thread. Every wait has a
 * bound: starting (`startTimeoutMs`), a metrics question, and stopping (then the thread is
 * terminated).
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../observability/logger.js';
import { type Backoff, backoffDelay } from './supervision.js';
import { type FromThread, parseFromThread, type ToThread } from './thread-protocol.js';

export interface ThreadSpec {
  /** For logs: what the thread hosts. */
  name: string;
  /** The compiled entry module's path. */
  entry: string;
  /** What the entry starts (structured-cloneable). */
  data: unknown;
  log: Logger;
  restart?: Partial<Backoff> & { maxRestarts?: number; windowMs?: number };
  startTimeoutMs?: number;
  /** Told after every restart that came up, with what the new thread says it runs. */
  onRestarted?: (info: Record<string, unknown>) => void;
}

const metricsTimeoutMs = 2_000;
const stopTimeoutMs = 20_000;

/** Starts a thread and waits for its `ready` (or its failure, exit, or the start timeout). */
function startThread(spec: ThreadSpec, onMessage: (m: FromThread) => void, onExit: (code: number) => void): Promise<{ worker: Worker; info: Record<string, unknown> }> {
  const worker = new Worker(spec.entry, { workerData: spec.data });
  return new Promise((resolve, reject) => {
    let settled = false;
    /** Only a thread that came up is the host's to restart; one that failed to start is the caller's error. */
    let ready = false;
    const timer = setTimeout(() => fail(new Error(`thread '${spec.name}' did not start within ${spec.startTimeoutMs ?? 60_000} ms`)), spec.startTimeoutMs ?? 60_000);
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      reject(error);
    };
    worker.on('message', (raw: unknown) => {
      const m = parseFromThread(raw);
      if (!m) return;
      if (!settled && m.type === 'ready') {
        settled = true;
        ready = true;
        clearTimeout(timer);
        resolve({ worker, info: m.info });
      } else if (!settled && m.type === 'failed') {
        fail(new Error(`thread '${spec.name}' failed to start: ${m.message}`));
      } else {
        onMessage(m);
      }
    });
    worker.on('error', (error) => {
      if (!settled) fail(error);
      else if (ready) spec.log.error({ err: error, thread: spec.name }, 'thread failed');
    });
    worker.on('exit', (code) => {
      if (!settled) fail(new Error(`thread '${spec.name}' exited with code ${code} before it was ready`));
      else if (ready) onExit(code);
    });
  });
}

export class HostedThread {
  #worker: Worker;
  #info: Record<string, unknown>;
  #stopping = false;
  #running = true;
  #restarts = 0;
  #recent: number[] = [];
  #nextId = 0;
  readonly #pending = new Map<number, (json: unknown[]) => void>();
  #stopped: (() => void) | undefined;

  private constructor(readonly spec: ThreadSpec, started: { worker: Worker; info: Record<string, unknown> }) {
    this.#worker = started.worker;
    this.#info = started.info;
  }

  static async start(spec: ThreadSpec): Promise<HostedThread> {
    // The thread's later messages and its exit are events: `host` is set before any of them runs.
    let host: HostedThread | undefined;
    const started = await startThread(spec, (m) => (host as HostedThread).#onMessage(m), (code) => (host as HostedThread).#onExit(code));
    host = new HostedThread(spec, started);
    return host;
  }

  /** What the running thread said it runs. */
  get info(): Record<string, unknown> {
    return this.#info;
  }

  get restarts(): number {
    return this.#restarts;
  }

  get threadId(): number {
    return this.#worker.threadId;
  }

  /** The thread's metrics as prom-client's JSON (for an AggregatorRegistry); none when it does not answer in time. */
  metrics(): Promise<unknown[]> {
    if (!this.#running) return Promise.resolve([]);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve([]);
      }, metricsTimeoutMs);
      this.#pending.set(id, (json) => {
        clearTimeout(timer);
        resolve(json);
      });
      this.#post({ type: 'metrics', id });
    });
  }

  /** Ends the thread as a crash would: the host restarts it (for fault tests). */
  async kill(): Promise<void> {
    await this.#worker.terminate();
  }

  /** Asks the thread to stop its actors, waits for it (at most 20 s), then terminates it. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (!this.#running) return;
    const exited = new Promise<void>((resolve) => {
      this.#stopped = resolve;
    });
    this.#post({ type: 'stop' });
    const timer = setTimeout(() => void this.#worker.terminate(), stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  }

  #post(message: ToThread): void {
    this.#worker.postMessage(message);
  }

  #onMessage(m: FromThread): void {
    if (m.type === 'metrics') {
      const answer = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      answer?.(JSON.parse(new TextDecoder().decode(m.json)) as unknown[]);
    }
  }

  #onExit(code: number): void {
    this.#running = false;
    for (const answer of this.#pending.values()) answer([]);
    this.#pending.clear();
    if (this.#stopping) {
      this.#stopped?.();
      return;
    }
    void this.#restart(code);
  }

  async #restart(code: number): Promise<void> {
    const { spec } = this;
    const policy = { minBackoffMs: 100, maxBackoffMs: 5_000, jitter: 0.2, maxRestarts: 5, windowMs: 60_000, ...spec.restart };
    const now = Date.now();
    this.#recent = this.#recent.filter((t) => now - t < policy.windowMs);
    if (this.#recent.length >= policy.maxRestarts) {
      spec.log.error({ thread: spec.name, code, restarts: this.#restarts }, `thread ended ${policy.maxRestarts} times within ${policy.windowMs} ms; not restarting it`);
      return;
    }
    const delay = backoffDelay(policy, this.#recent.length);
    this.#recent.push(now);
    spec.log.warn({ thread: spec.name, code, inMs: delay }, 'thread ended unasked; restarting it');
    await new Promise((r) => setTimeout(r, delay));
    if (this.#stopping) return;
    try {
      const started = await startThread(spec, (m) => this.#onMessage(m), (c) => this.#onExit(c));
      this.#worker = started.worker;
      this.#info = started.info;
      this.#running = true;
      this.#restarts++;
      if (this.#stopping) return void this.stop();
      spec.onRestarted?.(started.info);
    } catch (error) {
      spec.log.error({ err: error, thread: spec.name }, 'thread restart failed');
      void this.#restart(code);
    }
  }
}
