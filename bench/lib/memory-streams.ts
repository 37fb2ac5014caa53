/**
 * The clients of `bench:memory`: streaming chat completions over real HTTP (one undici pool with a
 * connection per stream), each read as it comes. Every stream ends in exactly one outcome: complete
 * (`data: [DONE]` after its tokens), an explicit error (a non-200 status, an SSE error event, a
 * socket error) or a hang (no byte for `idleMs`, or past `deadlineMs` in all).
 */
import { Pool } from 'undici';

export type StreamOutcome = 'complete' | 'error' | 'hang';

export interface StreamState {
  /** First content token seen: the stream is in flight end to end. */
  started: boolean;
  tokens: number;
  outcome?: StreamOutcome;
  /** What went wrong, for the first few errors. */
  detail?: string;
}

export interface StreamOptions {
  baseUrl: string;
  model: string;
  maxTokens: number;
  /** No byte this long: the stream hangs. */
  idleMs: number;
  /** The whole stream at most. */
  deadlineMs: number;
}

export class StreamClients {
  readonly streams: StreamState[] = [];
  private readonly pool: Pool;
  private readonly running: Promise<void>[] = [];

  constructor(private readonly options: StreamOptions, connections: number) {
    this.pool = new Pool(options.baseUrl, { connections, pipelining: 1, headersTimeout: options.idleMs, bodyTimeout: options.idleMs, connectTimeout: options.idleMs });
  }

  /** Opens one more stream (not awaited: it runs until its outcome). */
  open(): void {
    const state: StreamState = { started: false, tokens: 0 };
    this.streams.push(state);
    this.running.push(this.run(state));
  }

  /** Streams with a first token and no outcome yet. */
  inFlight(): number {
    let n = 0;
    for (const s of this.streams) if (s.started && s.outcome === undefined) n++;
    return n;
  }

  /** Streams opened, without a first token or an outcome yet. */
  pending(): number {
    let n = 0;
    for (const s of this.streams) if (!s.started && s.outcome === undefined) n++;
    return n;
  }

  count(outcome: StreamOutcome | undefined): number {
    let n = 0;
    for (const s of this.streams) if (s.outcome === outcome) n++;
    return n;
  }

  /** Resolves once every stream opened has its outcome (each is bounded by its deadline). */
  async settled(): Promise<void> {
    await Promise.all(this.running);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }

  private async run(state: StreamState): Promise<void> {
    const { model, maxTokens, idleMs, deadlineMs } = this.options;
    const body = JSON.stringify({ model, stream: true, max_tokens: maxTokens, messages: [{ role: 'user', content: 'a long and slow answer' }] });
    const signal = AbortSignal.timeout(deadlineMs);
    let done = false;
    try {
      const res = await this.pool.request({ path: '/v1/chat/completions', method: 'POST', body, signal,
        headers: { 'content-type': 'application/json' } });
      if (res.statusCode !== 200) {
        state.outcome = 'error';
        state.detail = `HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`;
        return;
      }
      let tail = '';
      for await (const chunk of res.body) {
        tail += (chunk as Buffer).toString('utf8');
        const lines = tail.split('\n');
        tail = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.startsWith('data: ')) continue;
          const data = line.slice(6);
          if (data === '[DONE]') {
            done = true;
          } else if (data.includes('"error"')) {
            state.outcome = 'error';
            state.detail = `SSE error: ${data.slice(0, 200)}`;
          } else if (data.includes('"content"')) {
            state.tokens++;
            state.started = true;
          }
        }
      }
      state.outcome ??= done ? 'complete' : 'error';
      if (!done && state.detail === undefined) state.detail = `stream ended without [DONE] after ${state.tokens} tokens`;
    } catch (error) {
      const name = (error as { name?: string; code?: string }).code ?? (error as Error).name;
      const timedOut = name === 'TimeoutError' || name === 'UND_ERR_BODY_TIMEOUT' || name === 'UND_ERR_HEADERS_TIMEOUT';
      state.outcome = timedOut ? 'hang' : 'error';
      state.detail = `${name}: ${(error as Error).message}`;
    }
  }
}
