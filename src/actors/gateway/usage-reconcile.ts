/**
 * The usage a client sees: the engine's count where it reported one, llmux's own count otherwise
 * (the gateway's prompt count, the worker's completion count). Where both exist the engine wins and
 * the difference is kept for a metric, so a tokenizer drifting from its engine shows up.
 */
import type { Usage } from '../../engine-adapters/adapter.js';

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

export function reconcileUsage(engine: Usage | undefined, counted: TokenUsage): ReconciledUsage {
  const usage: TokenUsage = {
    promptTokens: engine?.promptTokens ?? counted.promptTokens,
    completionTokens: engine?.completionTokens ?? counted.completionTokens,
  };
  if (engine?.cachedTokens !== undefined) usage.cachedTokens = engine.cachedTokens;
  const differences: ReconciledUsage['differences'] = {};
  if (engine?.promptTokens !== undefined) differences.prompt = engine.promptTokens - counted.promptTokens;
  if (engine?.completionTokens !== undefined) differences.completion = engine.completionTokens - counted.completionTokens;
  return { usage, differences };
}
