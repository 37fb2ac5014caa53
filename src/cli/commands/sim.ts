/** `llmux sim`: the vLLM-compatible engine simulator. */
import { startSim } from '../../sim/sim-server.js';
import { stopOnSignals } from './lifecycle.js';

export async function sim(opts: { format: string; port: number; host: string; ttftMs: number; itlMs: number; maxConcurrency: number; prefixCacheBlocks: number; embeddingDimensions: number; model?: string[] }): Promise<void> {
  const server = await startSim({
    format: opts.format, port: opts.port, host: opts.host, ttftMs: opts.ttftMs, itlMs: opts.itlMs, maxConcurrency: opts.maxConcurrency,
    prefixCacheBlocks: opts.prefixCacheBlocks, embeddingDimensions: opts.embeddingDimensions,
    ...(opts.model ? { models: opts.model } : {}),
  });
  stopOnSignals(() => server.close());
  process.stdout.write(`llmux sim (${opts.format} wire format) listening on ${server.url}\n`);
}
