/**
 * The router actor: keeps the live worker table from registry events, and dispatches each request
 * to one worker chosen by the model's routing method, forwarding it with the gateway's reply
 * subject untouched so tokens never pass through the router. Several routers share the request
 * subject in one queue group (active-active).
 */
import { ErrorCode, type ErrorInfo, assertNever } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { queues, subjects } from '../../transport/subjects.js';
import type { Inbound, Subscription, Transport } from '../../transport/transport.js';
import { type ActorRef, spawn } from '../runtime/actor.js';
import { Overflow } from '../runtime/mailbox.js';
import type { FunctionCatalog } from '../control/function-catalog.js';
import type { RoutingMethod } from '../control/function.schema.js';
import type { ReplyFrame } from '../gateway/reply.protocol.js';
import { type InferRequest, parseWorkerInbound } from '../worker/worker.protocol.js';
import { type RegistryEvent, parseRegistryEvent } from './registry.protocol.js';
import { newRoutingState, pickWorker } from './routing-methods.js';
import { WorkerTable } from './worker-table.js';

export type RouterMessage =
  | { type: 'registry'; event: RegistryEvent }
  | { type: 'dispatch'; message: Inbound; request: InferRequest }
  | { type: 'sweep' };

export interface RouterOptions {
  transport: Transport;
  catalog: FunctionCatalog;
  log: Logger;
  defaultRoutingMethod?: RoutingMethod;
  /** Sweep cadence when the table is empty. */
  idleSweepMs?: number;
  now?: () => number;
}

export interface Router {
  readonly table: WorkerTable;
  stop(): Promise<void>;
}

function errorFrame(error: ErrorInfo): ReplyFrame {
  return { type: 'error', seq: -1, error };
}

export async function startRouter(options: RouterOptions): Promise<Router> {
  const { transport, catalog, log } = options;
  const now = options.now ?? Date.now;
  const table = new WorkerTable();
  const state = newRoutingState();
  let sweepTimer: NodeJS.Timeout | undefined;

  const scheduleSweep = (self: ActorRef<RouterMessage>): void => {
    clearTimeout(sweepTimer);
    const every = (table.shortestHeartbeatMs() ?? options.idleSweepMs ?? 1000) / 4;
    sweepTimer = setTimeout(() => self.tell({ type: 'sweep' }), every);
    sweepTimer.unref();
  };

  const reply = (message: Inbound, frame: ReplyFrame): void => {
    if (message.reply) transport.publish(message.reply, frame, { headers: message.headers });
  };

  const dispatch = (message: Inbound, request: InferRequest): void => {
    const resolved = catalog.resolve(request.functionId, request.model);
    if (!resolved) {
      reply(message, errorFrame({ code: ErrorCode.noEligibleCandidates, retryable: false,
        message: `model '${request.functionId}/${request.model}' is not registered` }));
      return;
    }
    const serving = table.serving(request.functionId, request.model);
    const eligible = serving.filter((w) => !request.exclude.includes(w.descriptor.workerId));
    const method = resolved.model.llmConfig.routingMethod ?? options.defaultRoutingMethod ?? 'least-busy';
    const chosen = pickWorker(method, eligible, state, `${request.functionId}/${request.model}`);
    if (!chosen) {
      const why = serving.length === 0 ? 'no worker serves it' : 'every worker serving it already failed this request';
      reply(message, errorFrame({ code: ErrorCode.noActiveBackend, retryable: true,
        message: `no active backend for '${request.functionId}/${request.model}': ${why}` }));
      return;
    }
    chosen.dispatchedSinceReport++;
    transport.forward(subjects.workerInfer(chosen.descriptor.workerId), message);
    log.debug({ requestId: request.requestId, worker: chosen.descriptor.workerId, method }, 'dispatched');
  };

  const actor = spawn<RouterMessage>('router', ({ self }) => {
    scheduleSweep(self);
    return {
      receive(msg) {
        switch (msg.type) {
          case 'registry': {
            const e = msg.event;
            if (e.type === 'deregister') {
              if (table.remove(e.workerId)) log.info({ worker: e.workerId, reason: e.reason }, 'worker left');
            } else {
              const known = table.get(e.worker.workerId) !== undefined;
              table.upsert(e.worker, e.load, now());
              if (!known) log.info({ worker: e.worker.workerId, model: e.worker.model, fn: e.worker.functionId }, 'worker joined');
            }
            return;
          }
          case 'dispatch':
            dispatch(msg.message, msg.request);
            return;
          case 'sweep':
            for (const id of table.sweep(now())) log.warn({ worker: id }, 'worker expired: heartbeats stopped');
            scheduleSweep(self);
            return;
          default:
            assertNever(msg);
        }
      },
      stop() {
        clearTimeout(sweepTimer);
      },
    };
  }, {
    mailbox: { capacity: 50_000, overflow: Overflow.reject },
    onFailure: (error) => log.error({ err: error }, 'router actor failed; restarting'),
  });

  const subs: Subscription[] = [
    transport.subscribe(subjects.registryAll, (m) => {
      const event = parseRegistryEvent(m.body);
      if (event) actor.tell({ type: 'registry', event });
    }),
    transport.subscribe(subjects.routeAll, (m) => {
      const request = parseWorkerInbound(m.body);
      if (request?.type !== 'infer') return;
      if (!actor.tell({ type: 'dispatch', message: m, request })) {
        reply(m, errorFrame({ code: ErrorCode.noActiveBackend, retryable: true, message: 'router overloaded' }));
      }
    }, { queue: queues.routers }),
  ];
  // Ask workers to announce themselves now rather than at their next heartbeat.
  await transport.flush();
  transport.publish(subjects.discover, { type: 'discover' });

  return {
    table,
    async stop() {
      for (const s of subs) s.unsubscribe();
      await actor.stop();
    },
  };
}
