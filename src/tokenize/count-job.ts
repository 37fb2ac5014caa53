/** Running one count job on the current thread, failures returned as data. */
import { assertNever } from '../errors.js';
import type { CountJob, CountResult } from './count-protocol.js';
import { encoderFor } from './encoders.js';

export function runJob(job: CountJob): CountResult {
  try {
    const encoder = encoderFor(job.tokenizer);
    switch (job.type) {
      case 'text':
        return { ok: true, tokens: encoder.countText(job.text) };
      case 'chat':
        return { ok: true, tokens: encoder.countChat(job.messages) };
      default:
        return assertNever(job);
    }
  } catch (error) {
    return { ok: false, name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) };
  }
}
