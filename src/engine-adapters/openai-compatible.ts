/**
 * The shared base for engines with an OpenAI-compatible server (vLLM, SGLang, trtllm-serve,
 * llama.cpp): streams from the engine with usage requested when the client streams, asks for the
 * whole answer otherwise (one response instead of one event per token), over a keep-alive undici
 * pool; aborting the signal closes the engine connection, so the engine sees the client go away.
 */
import { Pool } from 'undici';
import { LlmuxError } from '../errors.js';
import type { EngineAdapter, EngineAdapterOptions, EngineEvent, EngineRequest } from './adapter.js';
import { engineConnectError, engineHttpError, engineStreamCut, engineStreamError, engineTimeout } from './engine-errors.js';
import { eventsFromChunk, eventsFromCompletion } from './openai-chunks.js';
import { SseParser } from './sse.js';

export interface OpenAiCompatibleOptions extends EngineAdapterOptions {
  kind: string;
  paths?: { chat: string; completion: string; health: string };
}

const defaultPaths = { chat: '/v1/chat/completions', completion: '/v1/completions', health: '/health' };

export function createOpenAiCompatibleAdapter(options: OpenAiCompatibleOptions): EngineAdapter {
  const base = new URL(options.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const paths = options.paths ?? defaultPaths;
  const pool = new Pool(base.origin, { connections: options.connections ?? 128, keepAliveTimeout: 30_000 });
  const kind = options.kind;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;

  async function* stream(request: EngineRequest, signal: AbortSignal): AsyncIterable<EngineEvent[]> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = request.deadline
      ? setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, Math.max(0, request.deadline - Date.now()))
      : undefined;
    const failure = (error: unknown, otherwise: () => LlmuxError): unknown => {
      if (error instanceof LlmuxError) return error;
      if (signal.aborted) return error; // the caller cancelled: it knows
      if (timedOut) return engineTimeout(kind);
      return otherwise();
    };
    try {
      const body = request.stream
        ? { ...request.body, model: request.model, stream: true, stream_options: { include_usage: true } }
        : { ...request.body, model: request.model, stream: false };
      let res: Awaited<ReturnType<typeof pool.request>>;
      try {
        res = await pool.request({
          method: 'POST',
          path: prefix + (request.operation === 'chat' ? paths.chat : paths.completion),
          headers,
          body: JSON.stringify(body),
          signal: controller.signal,
        });
      } catch (error) {
        throw failure(error, () => engineConnectError(kind, error));
      }
      if (res.statusCode >= 300) {
        const text = await res.body.text().catch(() => '');
        throw engineHttpError(kind, res.statusCode, text);
      }
      if (!request.stream) {
        let whole: Record<string, unknown>;
        try {
          whole = (await res.body.json()) as Record<string, unknown>;
        } catch (error) {
          throw failure(error, () => engineStreamCut(kind, error));
        }
        const events: EngineEvent[] = [];
        eventsFromCompletion(whole, events);
        yield events;
        return;
      }
      const parser = new SseParser();
      let done = false;
      try {
        for await (const bytes of res.body as AsyncIterable<Uint8Array>) {
          const events: EngineEvent[] = [];
          for (const ev of parser.push(bytes)) {
            if (ev.data === '[DONE]') {
              done = true;
              continue;
            }
            let json: Record<string, unknown>;
            try {
              json = JSON.parse(ev.data) as Record<string, unknown>;
            } catch {
              throw engineStreamError(kind, `unparseable event: ${ev.data.slice(0, 200)}`);
            }
            if (json.error !== undefined || json.object === 'error') {
              // Output that arrived in the same read before the error still reaches the client.
              if (events.length > 0) yield events;
              throw engineStreamError(kind, (json.error as { message?: string } | undefined)?.message ?? String(json.message ?? 'unknown error'));
            }
            eventsFromChunk(json, events);
          }
          if (events.length > 0) yield events;
        }
      } catch (error) {
        throw failure(error, () => engineStreamCut(kind, error));
      }
      if (!done) throw engineStreamCut(kind);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  return {
    kind,
    stream,
    async health(signal?: AbortSignal): Promise<boolean> {
      try {
        const res = await pool.request({ method: 'GET', path: prefix + paths.health, ...(signal ? { signal } : {}) });
        await res.body.dump();
        return res.statusCode >= 200 && res.statusCode < 300;
      } catch {
        return false;
      }
    },
    close: () => pool.close(),
  };
}
