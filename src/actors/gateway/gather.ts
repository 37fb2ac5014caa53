/**
 * Scatter-gather over the transport, for the admin API: publish one question with a fresh reply
 * subject and collect the answers that parse for `windowMs`, or until `enough` says they are
 * complete. Routers are active-active, so a decision record lives with whichever router made it;
 * asking them all is simpler than tracking who routed what.
 */
import { subjects } from '../../transport/subjects.js';
import type { Transport } from '../../transport/transport.js';

export interface GatherOptions<T> {
  windowMs: number;
  /**
   * The one worker whose answer is asked for: its answer is heard only signed by it, on
   * `<inbox>.<its id>` (subjects.workerAnswer). Without, answers are heard on the inbox itself,
   * where only control identities (routers) can publish.
   */
  worker?: string;
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
    // A worker's identity may publish into an inbox only signed, on `inbox.<its id>`: so no worker
    // can speak for a router, nor for another worker.
    const sub = transport.subscribe(options.worker === undefined ? inbox : subjects.workerAnswer(inbox, options.worker), (m) => {
      const answer = m.noResponders ? undefined : options.parse(m.body);
      if (answer === undefined) return;
      answers.push(answer);
      if (options.enough?.(answers)) finish();
    });
    const timer = setTimeout(finish, options.windowMs);
    transport.publish(subject, question, { reply: inbox });
  });
}
