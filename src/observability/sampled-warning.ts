/**
 * A warning that anyone who can send bad input can repeat (a stolen worker credential forging
 * frames, say) is logged at most once per interval per key, with how many were left out since the
 * last line: the log says what happens and how often without letting the sender fill the disk.
 * Keys are bounded too; past `maxKeys` the oldest is forgotten.
 */
import type { Logger } from './logger.js';

export class SampledWarning {
  readonly #seen = new Map<string, { at: number; suppressed: number }>();

  constructor(readonly log: Logger, readonly message: string, readonly intervalMs = 10_000, readonly maxKeys = 1024, readonly now: () => number = Date.now) {}

  warn(key: string, fields: Record<string, unknown>): void {
    const t = this.now();
    const seen = this.#seen.get(key);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    this.#seen.delete(key);
    this.#seen.set(key, { at: t, suppressed: 0 });
    if (this.#seen.size > this.maxKeys) this.#seen.delete(this.#seen.keys().next().value as string);
    this.log.warn({ ...fields, ...(seen && seen.suppressed > 0 ? { suppressed: seen.suppressed, suppressedOverMs: t - seen.at } : {}) }, this.message);
  }
}
