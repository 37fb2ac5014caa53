/**
 * `GET /v1/streams/<stream-id>` with `Last-Event-ID`: replays a resumable stream from its journal
 * (stream-journal.ts) to a client that lost its connection, on any gateway, then follows it live
 * until its `end`. Unknown and not-yours get the same 404, so a stream id's existence never leaks.
 */
import type { ServerResponse } from 'node:http';
import { assertNever, ErrorCode } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { Principal } from '../../policy/principal.js';
import type { Journal, Subscription } from '../../transport/transport.js';
import { sendError, sseErrorEvent } from './http-io.js';
import { ownerOf, parseJournalEntry, sseId } from './stream-journal.js';

export interface ResumeContext {
  journal: Journal;
  log: Logger;
  /** No journal entry for this long (the writer sends `alive` every few seconds): its gateway is gone. Default 15000 ms. */
  idleMs?: number;
  /** The stream's `open` entry must arrive within this long, or it is unknown. Default 2000 ms. */
  openWaitMs?: number;
}

const notFound = { code: ErrorCode.notFound, message: 'no resumable stream with this id', retryable: false } as const;

/**
 * Serves one resume. `lastEventId`: the number in the client's `Last-Event-ID` (events up to it are
 * skipped); undefined replays from the first event. Resolves when the answer is over.
 */
export function serveResume(ctx: ResumeContext, principal: Principal, streamId: string, lastEventId: number | undefined, res: ServerResponse): Promise<void> {
  const idleMs = ctx.idleMs ?? 15_000;
  const log = ctx.log.child({ streamId });
  const owner = ownerOf(principal);
  return new Promise<void>((resolve) => {
    let state: 'opening' | 'streaming' | 'done' = 'opening';
    let sub: Subscription | undefined;
    /** Events up to this id were written already (or were before the client's Last-Event-ID). */
    let after = lastEventId ?? Number.NEGATIVE_INFINITY;

    const finish = (): void => {
      if (state === 'done') return;
      state = 'done';
      clearTimeout(timer);
      res.off('close', finish);
      sub?.unsubscribe();
      resolve();
    };
    const refuse = (why: string): void => {
      log.debug({ why }, 'stream resume refused');
      sendError(res, notFound);
      finish();
    };
    const bounded = (ms: number, onTimeout: () => void): NodeJS.Timeout => setTimeout(onTimeout, ms).unref();
    // First the wait for `open`; once streaming, the idle bound, refreshed on every entry.
    let timer = bounded(ctx.openWaitMs ?? 2_000, () => refuse('no open entry in time'));
    const idle = (): void => {
      log.info({ idleMs }, 'resumed stream went quiet: its gateway stopped writing the journal');
      res.end(sseErrorEvent({
        code: ErrorCode.upstreamError,
        message: `the gateway that held this stream stopped writing it (nothing for ${idleMs / 1000}s); it cannot be resumed further`,
        retryable: false,
      }));
      finish();
    };
    res.on('close', finish); // the client went away

    const onEntry = (body: unknown): void => {
      if (state === 'done') return;
      const entry = parseJournalEntry(body);
      if (!entry) return log.debug('invalid stream journal entry dropped');
      if (state === 'opening') {
        // The first entry must be the open: if it aged out, ownership cannot be shown, so not found.
        if (entry.type !== 'open') return refuse('the open entry is gone');
        if (entry.owner !== owner) return refuse('another principal owns it');
        state = 'streaming';
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
          'x-request-id': entry.requestId,
        });
        clearTimeout(timer);
        timer = bounded(idleMs, idle);
        return;
      }
      timer.refresh();
      switch (entry.type) {
        case 'event':
          // `> after` also drops a repeat of an event already sent.
          if (entry.id > after) {
            after = entry.id;
            res.write(`id: ${sseId(streamId, entry.id)}\n${entry.text}`);
          }
          return;
        case 'end':
          res.end();
          return finish();
        case 'open':
        case 'alive':
          return;
        default:
          return assertNever(entry);
      }
    };

    ctx.journal.follow(streamId, onEntry).then(
      (s) => {
        if (state === 'done') s.unsubscribe();
        else sub = s;
      },
      (error: unknown) => {
        if (state === 'done') return;
        log.warn({ err: error }, 'cannot follow the stream journal');
        sendError(res, { code: ErrorCode.upstreamError, message: 'the stream journal cannot be read right now; retry shortly', retryable: true });
        finish();
      },
    );
  });
}
