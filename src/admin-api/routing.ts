/**
 * The admin API's routing part: decision records (`GET /admin/api/decisions/<request-id>`), the
 * worker table (`GET /admin/api/workers`) and draining a worker
 * (`POST /admin/api/workers/<worker-id>/drain`). Answers come from the routers and workers over the
 * transport; the gateway holds none of it.
 */
import type { ServerResponse } from 'node:http';
import { ErrorCode } from '../errors.js';
import { isFiniteNumber, isObject, isString } from '../protocol/guards.js';
import { subjects } from '../transport/subjects.js';
import type { Transport } from '../transport/transport.js';
import type { DecisionRecord } from '../actors/router/decision.js';
import { parseRouterAnswer, type WorkerView } from '../actors/router/router.protocol.js';
import { gather } from '../actors/gateway/gather.js';
import { sendError, sendJson } from '../actors/gateway/http-io.js';

/** How long to wait for routers' answers (they answer from memory, in well under a millisecond each). */
const windowMs = 300;

export async function getDecisions(transport: Transport, res: ServerResponse, requestId: string): Promise<void> {
  const answers = await gather(transport, subjects.routerAdmin, { type: 'decisions', requestId }, {
    windowMs,
    parse: (b) => {
      const a = parseRouterAnswer(b);
      return a?.type === 'decisions' ? a : undefined;
    },
  });
  const decisions: DecisionRecord[] = answers.flatMap((a) => [...a.records]).sort((a, b) => a.attempt - b.attempt || a.at.localeCompare(b.at));
  if (decisions.length === 0) {
    const why = answers.length === 0 ? 'no router answered' : `none of ${answers.length} router(s) holds a decision for it (they keep the most recent 10,000 requests)`;
    return void sendError(res, { code: ErrorCode.notFound, retryable: false, message: `no decision record for request '${requestId}': ${why}` });
  }
  sendJson(res, 200, { requestId, decisions });
}

/** The worker table as the routers hold it: every router answers, and the freshest report of each worker wins. */
export async function workersFromRouters(transport: Transport): Promise<{ routers: string[]; workers: WorkerView[] }> {
  const answers = await gather(transport, subjects.routerAdmin, { type: 'workers' }, {
    windowMs,
    parse: (b) => {
      const a = parseRouterAnswer(b);
      return a?.type === 'workers' ? a : undefined;
    },
  });
  const byId = new Map<string, WorkerView>();
  for (const a of answers) {
    for (const w of a.workers) {
      const seen = byId.get(w.descriptor.workerId);
      if (!seen || w.lastSeenMsAgo < seen.lastSeenMsAgo) byId.set(w.descriptor.workerId, w);
    }
  }
  return {
    routers: answers.map((a) => a.routerId).sort(),
    workers: [...byId.values()].sort((a, b) => a.descriptor.workerId.localeCompare(b.descriptor.workerId)),
  };
}

export async function listWorkers(transport: Transport, res: ServerResponse): Promise<void> {
  const { routers, workers } = await workersFromRouters(transport);
  if (routers.length === 0) return void sendError(res, { code: ErrorCode.noActiveBackend, retryable: true, message: 'no router answered' });
  sendJson(res, 200, { routers, workers });
}

export async function drainWorker(transport: Transport, res: ServerResponse, workerId: string): Promise<void> {
  const [ack] = await gather<{ workerId: string; inFlight: number }>(transport, subjects.workerDrain(workerId), { type: 'drain' }, {
    windowMs: 2_000,
    worker: workerId,
    enough: (answers) => answers.length > 0,
    parse: (b) => (isObject(b) && b.type === 'draining' && b.workerId === workerId && isFiniteNumber(b.inFlight) ? { workerId, inFlight: b.inFlight } : undefined),
  });
  if (!ack) return void sendError(res, { code: ErrorCode.notFound, retryable: false, message: `no worker '${workerId}' answered` });
  sendJson(res, 202, { workerId: ack.workerId, state: 'draining', inFlight: ack.inFlight });
}
