/**
 * How long a fuzz property runs: a short version inside `npm test`, a long one on request.
 *   LLMUX_FUZZ_RUNS=2000                  cases per property (default: the property's short count)
 *   LLMUX_FUZZ_SEED=… LLMUX_FUZZ_PATH=…   replays the counterexample fast-check printed
 * The property is interrupted (and fails, with its seed and the smallest counterexample so far)
 * before vitest's timeout, so a slow shrink never ends in a bare timeout that prints nothing.
 */
import type fc from 'fast-check';

export interface FuzzBudget<Ts> {
  /** fast-check's parameters for the property. */
  parameters: fc.Parameters<Ts>;
  /** vitest's timeout for the test. */
  timeoutMs: number;
}

/**
 * `shortRuns` cases by default, after `examples` (counterexamples found before, run every time);
 * `msPerCase`: a generous estimate of one case on a loaded machine.
 */
export function fuzzBudget<Ts>(shortRuns: number, msPerCase: number, examples: Ts[] = []): FuzzBudget<Ts> {
  const asked = Number(process.env.LLMUX_FUZZ_RUNS);
  const numRuns = Number.isSafeInteger(asked) && asked > 0 ? asked : shortRuns;
  const seed = process.env.LLMUX_FUZZ_SEED;
  // Room for the runs, and for shrinking a failure (each shrink step replays a case).
  const runMs = (numRuns + examples.length) * msPerCase + 60_000;
  return {
    parameters: {
      numRuns,
      examples,
      ...(seed ? { seed: Number(seed), ...(process.env.LLMUX_FUZZ_PATH ? { path: process.env.LLMUX_FUZZ_PATH } : {}) } : {}),
      interruptAfterTimeLimit: runMs,
      markInterruptAsFailure: true,
    },
    timeoutMs: runMs + 30_000,
  };
}
