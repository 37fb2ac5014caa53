/**
 * A worker registers only once its engine answers its health endpoint: an engine still loading its
 * model must not receive requests. Waits up to `timeoutMs`, saying what it is waiting for.
 */
import type { EngineAdapter } from '../../engine-adapters/adapter.js';
import type { Logger } from '../../observability/logger.js';

export class EngineNotReadyError extends Error {
  override readonly name = 'EngineNotReadyError';
  readonly code = 'engine_not_ready';
}

export async function waitForEngine(engine: EngineAdapter, url: string, timeoutMs: number, log: Logger): Promise<void> {
  const started = Date.now();
  let lastSaid = started;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    if (await engine.health(AbortSignal.timeout(5000))) return;
    const waited = Date.now() - started;
    if (waited >= timeoutMs) {
      throw new EngineNotReadyError(`the ${engine.kind} engine at ${url} did not become healthy within ${Math.round(timeoutMs / 1000)} s`);
    }
    if (Date.now() - lastSaid >= 5000) {
      log.warn({ engine: engine.kind, url, waitedS: Math.round(waited / 1000) }, 'waiting for the engine to become healthy');
      lastSaid = Date.now();
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}
