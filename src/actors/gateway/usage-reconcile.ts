/**
 * The usage a client sees: the engine's count where it reported one, llmux's own count otherwise
 * (the gateway's prompt count, the worker's completion count). Where both exist the engine wins and
 * the difference is kept for a metric, so a tokenizer drifting from its engine shows up.
 */
import type { Usage } from '../../engine-adapters/adapter.js';
import { isCount } from '../../protocol/guards.js';

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens?: number;
}

export interface ReconciledUsage {
  usage: TokenUsage;
  /** Engine minus llmux, where the engine reported a count. */
  differences: { prompt?: number; completion?: number };
}

// Only a count (guards.ts) can be billed: an engine or a worker frame may send -1, 1.5 or 1e400.

/**
 * `carried`: tokens an earlier worker delivered before this one continued the answer (mid-stream
 * migration). The engine's counts cover its own part only: the prompt it saw held the delivered
 * text, which the completion counts instead. `counted.completionTokens` already includes them.
 */
export function reconcileUsage(reported: Usage | undefined, counted: TokenUsage, carried = 0): ReconciledUsage {
  // What cannot be billed is not believed: a negative count would settle below the reservation and
  // free quota. llmux's own count stands in for it.
  const engine: Usage | undefined = reported && {
    ...(isCount(reported.promptTokens) ? { promptTokens: Math.max(carried > 0 ? 1 : 0, reported.promptTokens - carried) } : {}),
    ...(isCount(reported.completionTokens) ? { completionTokens: reported.completionTokens + carried } : {}),
    ...(isCount(reported.cachedTokens) ? { cachedTokens: reported.cachedTokens } : {}),
  };
  const usage: TokenUsage = {
    promptTokens: engine?.promptTokens ?? Math.max(0, Math.round(counted.promptTokens)),
    completionTokens: engine?.completionTokens ?? (isCount(counted.completionTokens) ? counted.completionTokens : 0),
  };
  if (engine?.cachedTokens !== undefined) usage.cachedTokens = engine.cachedTokens;
  const differences: ReconciledUsage['differences'] = {};
  if (engine?.promptTokens !== undefined) differences.prompt = engine.promptTokens - counted.promptTokens;
  if (engine?.completionTokens !== undefined) differences.completion = engine.completionTokens - counted.completionTokens;
  return { usage, differences };
}
