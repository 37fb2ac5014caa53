/**
 * Fault directives for exercising failure paths end to end through llmux. Written into the prompt
 * text, so they travel through the gateway, router and worker unchanged:
 *
 *   [[sim:fail]]          answer HTTP 500 with a vLLM error body before any output
 *   [[sim:cut-after:N]]   send N tokens, then destroy the connection (no [DONE]); non-streaming
 *                         requests are cut before any answer
 */
export const FAIL_DIRECTIVE = '[[sim:fail]]';
export const CUT_DIRECTIVE = /\[\[sim:cut-after:(\d+)\]\]/;

export type Fault = { type: 'none' } | { type: 'fail' } | { type: 'cut-after'; tokens: number };

export function faultIn(prompt: string): Fault {
  if (prompt.includes(FAIL_DIRECTIVE)) return { type: 'fail' };
  const cut = CUT_DIRECTIVE.exec(prompt);
  if (cut?.[1]) return { type: 'cut-after', tokens: Number(cut[1]) };
  return { type: 'none' };
}
