/**
 * Scatter-gather over the transport, for the admin API: publish one question with a fresh reply
 * subject and collect the answers that parse for `windowMs`, or until `enough` says they are
 * complete. Routers are active-active, so a decision record lives with whichever router made it;
 * asking them all is simpler than tracking who routed what.
 */
import type { Transport } from '../../transport/transport.js';

export interface GatherOptions<T> {
  windowMs: number;
  parse: (body: unknown) => T | undefined;
  enough?: (answers: readonly T[]) => boolean;
}

export function gather<T>(transport: Transport, subject: string, question: unknown, options: GatherOptions<T>): Promise<T[]> {
  const inbox = `${transport.newInboxPrefix()}.q`;
  const answers: T[] = [];
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(answers);
    };
    // Routers answer on `inbox` itself. A worker's identity may publish into an inbox only signed,
    // on `inbox.<its id>` (subjects.workerAnswer), so no worker can speak for a router here.
    const sub = transport.subscribe(inbox, (m) => {
      const answer = m.noResponders ? undefined : options.parse(m.body);
      if (answer === undefined) return;
      answers.push(answer);
      if (options.enough?.(answers)) finish();
    });
    const timer = setTimeout(finish, options.windowMs);
    transport.publish(subject, question, { reply: inbox });
  });
}
