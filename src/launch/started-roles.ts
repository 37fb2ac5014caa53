/**
 * What a stack started, stopped in order: the front doors first, nats-server last. Roles of one kind
 * stop together, so two workers each draining their streams for 10 s take 10 s, not 20.
 */
import type { Logger } from '../observability/logger.js';
import type { Stoppable } from './roles.js';

export const stopOrder = ['gateway', 'limiter', 'worker', 'worker thread', 'engine simulator', 'router', 'tokenizer pool', 'nats-server'] as const;
export type StopRole = (typeof stopOrder)[number];

export class StartedRoles {
  readonly #started: Array<{ role: StopRole; stoppable: Stoppable }> = [];

  constructor(readonly log: Logger, readonly progress: (line: string) => void) {}

  add(role: StopRole, stoppable: Stoppable): void {
    this.#started.push({ role, stoppable });
  }

  /** Stops everything added so far, in `stopOrder`; a failed stop is logged and the rest go on. */
  async stopAll(): Promise<void> {
    const running = this.#started.splice(0);
    for (const role of stopOrder) {
      const group = running.filter((s) => s.role === role);
      if (group.length === 0) continue;
      this.progress(`stopping ${group.length === 1 ? role : `${group.length} ${role}s`} ...`);
      await Promise.all(group.map(({ stoppable }) => stoppable.stop().catch((error: unknown) => this.log.warn({ err: error, role }, 'stop failed'))));
    }
  }
}
