/** `llmux sim`: the vLLM-compatible engine simulator. */
import type { EngineModel } from '../../sim/engine.js';
import { startSim } from '../../sim/sim-server.js';
import { stopOnSignals } from './lifecycle.js';

export interface SimCommandOptions {
  format: string; port: number; host: string; ttftMs: number; itlMs: number; maxConcurrency?: number; prefixCacheBlocks: number; embeddingDimensions: number; model?: string[];
  timing: 'fixed' | 'engine'; blockSize?: number; kvBlocks?: number; maxBatchedTokens?: number; prefillTokensPerS?: number; prefillPerContextTokenMs?: number; decodeBaseMs?: number; decodePerSeqMs?: number; decodePerKvTokenMs?: number;
  speedup?: number; kvEventsPort?: number; kvEventsTopic: string; kvEventsReplayPort?: number;
}

export async function sim(opts: SimCommandOptions): Promise<void> {
  const engine: Partial<EngineModel> = {
    ...(opts.blockSize !== undefined ? { blockSize: opts.blockSize } : {}),
    ...(opts.kvBlocks !== undefined ? { kvBlocks: opts.kvBlocks } : {}),
    ...(opts.maxBatchedTokens !== undefined ? { maxBatchedTokens: opts.maxBatchedTokens } : {}),
    ...(opts.prefillTokensPerS !== undefined ? { prefillTokensPerSecond: opts.prefillTokensPerS } : {}),
    ...(opts.prefillPerContextTokenMs !== undefined ? { prefillPerContextTokenMs: opts.prefillPerContextTokenMs } : {}),
    ...(opts.decodeBaseMs !== undefined ? { decodeBaseMs: opts.decodeBaseMs } : {}),
    ...(opts.decodePerSeqMs !== undefined ? { decodePerSeqMs: opts.decodePerSeqMs } : {}),
    ...(opts.decodePerKvTokenMs !== undefined ? { decodePerKvTokenMs: opts.decodePerKvTokenMs } : {}),
    ...(opts.speedup !== undefined ? { speedup: opts.speedup } : {}),
  };
  const server = await startSim({
    format: opts.format, port: opts.port, host: opts.host, ttftMs: opts.ttftMs, itlMs: opts.itlMs,
    prefixCacheBlocks: opts.prefixCacheBlocks, embeddingDimensions: opts.embeddingDimensions, timing: opts.timing, engine,
    ...(opts.maxConcurrency !== undefined ? { maxConcurrency: opts.maxConcurrency } : {}),
    ...(opts.model ? { models: opts.model } : {}),
    ...(opts.kvEventsPort !== undefined ? { kvEventsPort: opts.kvEventsPort, kvEventsTopic: opts.kvEventsTopic } : {}),
    ...(opts.kvEventsReplayPort !== undefined ? { kvEventsReplayPort: opts.kvEventsReplayPort } : {}),
  });
  stopOnSignals(() => server.close());
  // The URL ends the line: launchers read it with /listening on (\S+)/.
  const replay = server.kvEvents?.replayEndpoint ? `, replay on ${server.kvEvents.replayEndpoint}` : '';
  const kv = server.kvEvents ? `; KV events on ${server.kvEvents.endpoint}${replay}` : '';
  process.stdout.write(`llmux sim (${opts.format} wire format, ${opts.timing} timing${kv}) listening on ${server.url}\n`);
}
