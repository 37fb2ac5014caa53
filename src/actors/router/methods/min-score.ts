/** The common shape of a scoring method: score every candidate, take a lowest, break ties at random. */
import type { Pick } from '../routing-request.js';
import type { WorkerEntry } from '../worker-table.js';

export function lowestScore(candidates: readonly WorkerEntry[], score: (w: WorkerEntry, i: number) => number, random: () => number): Pick | undefined {
  if (candidates.length === 0) return undefined;
  const scores = candidates.map(score);
  const best = Math.min(...scores);
  const tied: number[] = [];
  scores.forEach((s, i) => {
    if (s === best) tied.push(i);
  });
  const index = tied[Math.floor(random() * tied.length)] as number;
  return { winner: candidates[index] as WorkerEntry, scores };
}
