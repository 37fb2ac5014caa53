/**
 * Fault directives: text written into a prompt that makes the simulator fail on purpose. They ride
 * inside the prompt so they travel through the gateway, router and worker untouched, and a test at
 * the edge of the system can ask for an engine failure deep inside it.
 *
 *   [[sim:fail]]          answer HTTP 500 with a vLLM error body, before any output and without
 *                         taking a batch slot (an engine that rejects the request outright)
 *   [[sim:cut-after:N]]   streaming: send N content tokens, then destroy the connection with no
 *                         final chunk and no [DONE] (an engine that crashed mid-answer); when N is
 *                         at least the number of tokens to generate, the answer completes normally.
 *                         Non-streaming: destroy the connection before answering anything.
 *
 *   [[sim:error-after:N]] streaming: send N content tokens, then the engine's own error event in the
 *                         stream that already answered 200, and end it (an engine failing mid-answer
 *                         and saying so).
 *   [[sim:stall-after:N]] streaming: send N content tokens, then nothing, the connection kept open,
 *                         until the client gives up (a hung engine); non-streaming: no answer at all.
 *   [[sim:prefill-ms:M]]  the first token comes M ms later than it would (a long prefill, the engine
 *                         silent meanwhile); it combines with the others.
 *
 * N counts the tokens of the whole answer, continuations included (continuation.ts): an engine
 * that continues from token k ≥ N does not fail again, so a test can cut one engine at N and have
 * the next one finish. A cut is not counted as an abort: the client did not go away, the "engine"
 * did.
 */
export const FAIL_DIRECTIVE = '[[sim:fail]]';
export const CUT_AFTER_DIRECTIVE = /\[\[sim:cut-after:(\d+)\]\]/;

/** The directive text that cuts a stream after `tokens` content tokens. */
export const cutAfterDirective = (tokens: number): string => `[[sim:cut-after:${tokens}]]`;

export const ERROR_AFTER_DIRECTIVE = /\[\[sim:error-after:(\d+)\]\]/;

/** The directive text that makes the engine report an error in the stream after `tokens` tokens. */
export const errorAfterDirective = (tokens: number): string => `[[sim:error-after:${tokens}]]`;

export const STALL_AFTER_DIRECTIVE = /\[\[sim:stall-after:(\d+)\]\]/;

/** The directive text that makes the engine go silent after `tokens` tokens, until the client aborts. */
export const stallAfterDirective = (tokens: number): string => `[[sim:stall-after:${tokens}]]`;

export const PREFILL_MS_DIRECTIVE = /\[\[sim:prefill-ms:(\d+)\]\]/;

/** The directive text that delays the first token by `ms`. */
export const prefillMsDirective = (ms: number): string => `[[sim:prefill-ms:${ms}]]`;

/** A fault at a position of the answer: after that many of its tokens. */
export type PositionedFault = { type: 'cut-after' | 'error-after' | 'stall-after'; tokens: number };

export type Fault = { type: 'none' } | { type: 'fail' } | PositionedFault;

const positioned = [['cut-after', CUT_AFTER_DIRECTIVE], ['error-after', ERROR_AFTER_DIRECTIVE], ['stall-after', STALL_AFTER_DIRECTIVE]] as const;

/** The fault a prompt asks for; the first in the order above wins when several are present. */
export function faultIn(prompt: string): Fault {
  if (prompt.includes(FAIL_DIRECTIVE)) return { type: 'fail' };
  for (const [type, directive] of positioned) {
    const n = directive.exec(prompt)?.[1];
    if (n !== undefined) return { type, tokens: Number(n) };
  }
  return { type: 'none' };
}

/** Everything the directives in a prompt ask for: a fault and an extra prefill time. */
export function directivesIn(prompt: string): { fault: Fault; prefillMs: number } {
  return { fault: faultIn(prompt), prefillMs: Number(PREFILL_MS_DIRECTIVE.exec(prompt)?.[1] ?? 0) };
}
