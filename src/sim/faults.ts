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
 *
 * A cut is not counted as an abort: the client did not go away, the "engine" did.
 */
export const FAIL_DIRECTIVE = '[[sim:fail]]';
export const CUT_AFTER_DIRECTIVE = /\[\[sim:cut-after:(\d+)\]\]/;

/** The directive text that cuts a stream after `tokens` content tokens. */
export const cutAfterDirective = (tokens: number): string => `[[sim:cut-after:${tokens}]]`;

export const ERROR_AFTER_DIRECTIVE = /\[\[sim:error-after:(\d+)\]\]/;

/** The directive text that makes the engine report an error in the stream after `tokens` tokens. */
export const errorAfterDirective = (tokens: number): string => `[[sim:error-after:${tokens}]]`;

export type Fault = { type: 'none' } | { type: 'fail' } | { type: 'cut-after'; tokens: number } | { type: 'error-after'; tokens: number };

/** The fault a prompt asks for; `fail` wins when both directives are present. */
export function faultIn(prompt: string): Fault {
  if (prompt.includes(FAIL_DIRECTIVE)) return { type: 'fail' };
  const cut = CUT_AFTER_DIRECTIVE.exec(prompt);
  if (cut?.[1] !== undefined) return { type: 'cut-after', tokens: Number(cut[1]) };
  const error = ERROR_AFTER_DIRECTIVE.exec(prompt);
  if (error?.[1] !== undefined) return { type: 'error-after', tokens: Number(error[1]) };
  return { type: 'none' };
}
