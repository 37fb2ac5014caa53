/**
 * What a trial sends and what it must get back. The simulator's answer is a function of the prompt
 * text (src/sim/generation.ts: one word per token, seeded by a hash of the prompt), so the exact
 * expected text of every stream is known before it is sent.
 */
import { textOf, seedOf } from '../src/sim/generation.js';
import { errorAfterDirective } from '../src/sim/faults.js';
import { hex } from './prng.js';
import type { ReadBehaviour } from './stream-client.js';

export interface StreamPlan {
  prompt: string;
  maxTokens: number;
  behaviour: ReadBehaviour;
  /** The engine fails in the stream after this many tokens (`[[sim:error-after:N]]` in the prompt). */
  errorAfter?: number;
}

export interface WorkloadShape {
  /** Concurrent streams per trial. */
  streams: number;
  /** Completion tokens per stream. */
  tokens: number;
}

/** A prompt unique to the trial and stream; the directive, if any, rides inside it. */
export function promptFor(trialSeed: number, index: number, errorAfter?: number): string {
  const directive = errorAfter !== undefined ? ` ${errorAfterDirective(errorAfter)}` : '';
  return `chaos trial ${hex(trialSeed)} stream ${index}: tell me about the sea${directive}`;
}

export function plainPlans(trialSeed: number, shape: WorkloadShape): StreamPlan[] {
  return Array.from({ length: shape.streams }, (_, i) => ({ prompt: promptFor(trialSeed, i), maxTokens: shape.tokens, behaviour: { type: 'normal' } }));
}

/**
 * The whole answer the simulator gives. A chat request with one user message reaches it as that
 * message's text (src/sim/prompt.ts joins message contents); `selfCheck` confirms it on a live stack.
 */
export function expectedText(plan: Pick<StreamPlan, 'prompt' | 'maxTokens'>): string {
  return textOf(seedOf(plan.prompt), plan.maxTokens);
}

export function chatBody(plan: StreamPlan, model: string): unknown {
  return {
    model,
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: plan.maxTokens,
    messages: [{ role: 'user', content: plan.prompt }],
  };
}

/** A stream's plan in a schedule line: only what differs from a plain stream. */
export function describePlan(plan: StreamPlan, index: number, shape: WorkloadShape): string | undefined {
  const parts: string[] = [];
  const b = plan.behaviour;
  if (b.type === 'stall') parts.push(`stops reading at +${b.atMs} ms for ${b.forMs} ms`);
  if (b.type === 'throttle') parts.push(`reads a chunk every ${b.perChunkMs} ms`);
  if (b.type === 'abort') parts.push(`aborts at +${b.atMs} ms`);
  if (plan.errorAfter !== undefined) parts.push(`engine error after ${plan.errorAfter} tokens`);
  if (plan.maxTokens !== shape.tokens) parts.push(`${plan.maxTokens} tokens`);
  return parts.length > 0 ? `stream ${index}: ${parts.join(', ')}` : undefined;
}
