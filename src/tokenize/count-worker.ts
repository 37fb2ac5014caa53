/** The piscina worker: counts a batch of jobs (one task carries many, so the thread hop is paid once). */
import type { CountBatch, CountResult } from './count-protocol.js';
import { runJob } from './count-job.js';

export default function countBatch(batch: CountBatch): CountResult[] {
  return batch.map(runJob);
}
