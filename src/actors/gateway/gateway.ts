/**
 * The gateway: OpenAI-compatible HTTP ingress. Authenticates, validates, resolves the model against
 * the live function catalog, and hands each request to a RequestSession that talks to routers and
 * workers over the transport, through the gateway actor (gateway-actor.ts), which routes each
 * session's frames, client disconnects and timeouts to it one at a time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, LlmuxError, type ErrorInfo } from '../../errors.js';
import { operationAt, type OperationSpec, storedAnswerAt } from '../../operations/index.js';
import { type AnswerMemoryOptions, kvAnswerMemory } from './answer-memory.js';
import type { Logger } from '../../observability/logger.js';
import { GatewayMetrics } from '../../observability/gateway-metrics.js';
import type { TokenCounter } from '../../tokenize/index.js';
import type { Journal, Transport } from '../../transport/transport.js';
import { isStreamId, JournalWriter, newStreamId, ownerOf, parseSseId } from './stream-journal.js';
import { serveResume } from './resume.js';
import type { FunctionCatalog } from '../../control/function-catalog.js';
import { defaultRoutingMethod } from '../../control/function.schema.js';
import { handleAdmin } from '../../admin-api/api.js';
import { AdminAuth, Authenticator } from '../../policy/authenticator.js';
import type { ApiKeyStore } from '../../policy/api-key-store.js';
import type { JwtOptions } from '../../policy/jwt-auth.js';
import type { AuthMode } from '../../policy/auth-mode.js';
import { mayDebug, type Principal } from '../../policy/principal.js';
import type { AdmissionOptions } from './admission.js';
import type { UsageLedger } from '../../ledger/usage-ledger.js';
import { readJsonBody, sendError, sendJson } from './http-io.js';
import { answerHalfClosed, bodyLimitFor, capConnections, defaultHttpLimits, type HttpLimits, serverOptions } from './http-limits.js';
import { validateRequest } from './request-schema.js';
import type { RouteTable } from '../../control/route-table.js';
import { BackendAdapters, serveRoute } from './route-proxy.js';
import { admitInference, type PipelineDeps } from './inference-pipeline.js';
import { isTarget, resolveTarget } from './inference-target.js';
import { defaultSessionLimits, RequestSession, type SessionLimits } from './request-session.js';
import { startGatewayActor } from './gateway-actor.js';
import { routingHints } from './routing-hints.js';
import { requestIdFor } from './trace-context.js';
import { traceInference, traceResume } from '../../observability/spans.js';
import { hopTimingOn, markHop, startHops } from '../../observability/hop-timing.js';

export interface GatewayOptions {
  transport: Transport;
  catalog: FunctionCatalog;
  /** Counts prompt tokens before admission. */
  tokens: TokenCounter;
  log: Logger;
  host?: string;
  port?: number;
  /** Static client keys (`--api-key`): tenant `default`, every function. */
  apiKeys?: readonly string[];
  /** API keys and tenants from the control plane (created through the admin API). */
  keys?: ApiKeyStore;
  jwt?: JwtOptions;
  /** Whether callers must authenticate (default `required`); never inferred from how many keys exist. */
  auth?: AuthMode;
  /** The admin credential; without it the admin API answers 401. */
  adminKey?: string;
  /** Rate limits: the limiter, the fail mode, the default completion reservation. */
  admission?: Omit<AdmissionOptions, 'log' | 'keys'>;
  /** Where a record of every request goes. */
  ledger?: UsageLedger;
  /** Where resumable streams are journaled (without it, no stream is resumable). */
  journal?: Journal;
  /** Backends and routes: models served straight from the gateway by providers and engines. */
  routes?: RouteTable;
  limits?: Partial<SessionLimits>;
  /** The most completion tokens a request may ask for when its model sets no contextLength (default 32,768). */
  maxTokensCeiling?: number;
  /** Longest a request may take end to end (default 600 s). */
  requestTimeoutMs?: number;
  /** Resuming a stream: how long to wait for its journal's first entry, and for any entry after (defaults 2 s, 15 s). */
  resume?: { openWaitMs?: number; idleMs?: number };
  metrics?: GatewayMetrics;
  /**
   * Whether `GET /metrics` is served on the public port (default true, as `llmux up` serves every
   * role's). The gateway role turns it off when it has a `--metrics-port`: its metrics (models,
   * tenants' limits, error counts) are then for the scraper's port only, not for any client.
   */
  metricsOnPublicPort?: boolean;
  /** Body size, header, body and idle timeouts, connection caps (defaults: defaultHttpLimits). */
  http?: Partial<HttpLimits>;
  /** Where stored answers (Responses' `store`) are kept, and for how long (default bucket `llmux_responses`, 1 h). */
  answers?: AnswerMemoryOptions;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly metrics: GatewayMetrics;
  /** Sessions in flight. */
  activeSessions(): number;
  /** Bytes written for streaming clients and not yet taken by their sockets. */
  bufferedBytes(): number;
  stop(): Promise<void>;
}

/** Migrations per stream when the model's llmConfig does not say. */
const defaultMigrationAttempts = 3;

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { transport, catalog, tokens, log } = options;
  const metrics = options.metrics ?? new GatewayMetrics();
  const auth = new Authenticator({ ...(options.auth ? { mode: options.auth } : {}), staticKeys: options.apiKeys ?? [], ...(options.keys ? { store: options.keys } : {}), ...(options.jwt ? { jwt: options.jwt } : {}) });
  const adminAuth = new AdminAuth(options.adminKey);
  const gatewayTag = transport.newInboxPrefix().slice(-8);
  const adapters = new BackendAdapters();
  const limits: SessionLimits = { ...defaultSessionLimits, ...options.limits };
  const requestTimeoutMs = options.requestTimeoutMs ?? 600_000;
  const answers = kvAnswerMemory(transport, options.answers);
  const reply = (res: ServerResponse, operation: OperationSpec | undefined, error: ErrorInfo, headers: Record<string, string> = {}): void => {
    const status = sendError(res, error, headers, operation?.errorBody);
    metrics.requests.inc({ route: operation?.path ?? 'other', status: String(status) });
  };
  const pipeline: PipelineDeps = {
    metrics, tokens, log, admission: options.admission, keys: options.keys, ledger: options.ledger,
    maxTokensCeiling: options.maxTokensCeiling, requestTimeoutMs, reply,
  };
  // What one NATS message carries, less the envelope: asked each time, as a reconnect may reach a server configured otherwise.
  const bodyLimit = (): number => bodyLimitFor(transport.maxPayload());
  const actor = startGatewayActor({ transport, metrics, log, limits });
  const { sessions, forgedFrames, repliesFor } = actor;
  let nextToken = 0;
  let ready = false;

  const handleInference = async (req: IncomingMessage, res: ServerResponse, operation: OperationSpec, requestId: string, principal: Principal): Promise<void> => {
    const arrivedAt = process.hrtime.bigint();
    if (hopTimingOn) markHop(res, 'g.auth');
    const raw = await readJsonBody(req, bodyLimit());
    if (raw instanceof LlmuxError) return void reply(res, operation, raw.toInfo());
    const validated = validateRequest(operation, raw);
    if (validated instanceof LlmuxError) return void reply(res, operation, validated.toInfo());
    if (hopTimingOn) markHop(res, 'g.valid');
    const keep = operation.stateful ? await operation.stateful.open(validated, principal, answers).catch(memoryFailure) : undefined;
    if (keep instanceof LlmuxError) return void reply(res, operation, keep.toInfo(), keep.code === ErrorCode.controlPlaneUnavailable ? { 'retry-after': '5' } : {});
    const onAnswer = keep ? (answer: Record<string, unknown>) => void keep(answer).catch((error: unknown) => log.warn({ err: error, requestId }, 'could not store the answer')) : undefined;
    const trace = traceInference(req, res, operation.name, validated.model);
    const target = resolveTarget({ catalog, routes: options.routes }, req, operation, validated, principal);
    if (!isTarget(target)) return void reply(res, operation, target);
    const admitted = await admitInference(pipeline, {
      req, res, operation, requestId, principal, validated, target, trace, arrivedAt, reservationId: `${requestId}/${gatewayTag}.${nextToken++}`,
    });
    if (!admitted) return;
    if (hopTimingOn) markHop(res, 'g.admitted');
    const debug = req.headers['x-llmux-debug'] === '1' && mayDebug(principal);
    if (target.source === 'route') {
      return serveRoute({ plan: target.plan, request: validated, requestId, clientModel: validated.model, res, debug, adapters, admitted,
        tokens, tokenizer: target.tokenizer, idleTimeoutMs: limits.idleTimeoutMs, ...(onAnswer ? { onAnswer } : {}) });
    }
    const { llmConfig } = target;
    const { prompt, maxTokens, budget, onEnd } = admitted;
    const streamId = newStreamId();
    const resumable = validated.stream && options.journal !== undefined && (req.headers['x-llmux-resumable'] === '1' || llmConfig.resumable === true);
    const journal = resumable && options.journal ? new JournalWriter(options.journal, streamId, ownerOf(principal), log) : undefined;
    journal?.open(requestId);
    const session: RequestSession = new RequestSession({
      streamId, ...(journal ? { journal } : {}),
      transport, metrics, log: admitted.log, limits, forgedFrames,
      replies: repliesFor(() => session),
      migrationAttempts: llmConfig.migration?.attempts ?? defaultMigrationAttempts,
      requestId,
      traceparent: trace.traceparent,
      deadline: admitted.deadline,
      functionId: target.functionId,
      model: target.model,
      clientModel: validated.model,
      request: validated,
      tokenizer: target.tokenizer,
      promptTokens: prompt.total,
      routing: routingHints(validated, req.headers, target.override ?? llmConfig.routingMethod ?? defaultRoutingMethod, target.override, prompt.total, maxTokens,
        // The prompt's token-id blocks, for routers matching engines' KV events (where the tokenizer gives the engine's ids).
        { tokenizer: target.tokenizer, ...(llmConfig.routing?.kvBlockSize !== undefined ? { blockSize: llmConfig.routing.kvBlockSize } : {}) }),
      debug,
      responseHeaders: admitted.responseHeaders,
      ...(budget ? { completionBudget: budget } : {}),
      onEnd,
      ...(onAnswer ? { onAnswer } : {}),
      res,
      arrivedAt,
      accounting: admitted.accounting,
      onClose: () => sessions.delete(session),
    });
    res.on('close', () => {
      if (!res.writableFinished) actor.tell({ type: 'client-gone', session });
    });
    res.on('drain', () => actor.tell({ type: 'client-drain', session }));
    if (!actor.tell({ type: 'open', session })) {
      reply(res, operation, { code: ErrorCode.noActiveBackend, retryable: true, message: 'gateway overloaded' });
      onEnd({ outcome: 'failed', status: 503, promptTokens: 0, completionTokens: 0, errorCode: ErrorCode.noActiveBackend });
    }
  };

  /** The answer memory could not be reached: the caller may try again. */
  const memoryFailure = (error: unknown): LlmuxError => {
    log.warn({ err: error }, 'the answer memory (stored responses) failed');
    return new LlmuxError({ code: ErrorCode.controlPlaneUnavailable, retryable: true, message: 'stored responses cannot be read right now; try again later' }, { cause: error });
  };

  /** `GET /v1/responses/{id}`: a stored answer of the caller's tenant. */
  const getStored = async (req: IncomingMessage, res: ServerResponse, operation: OperationSpec, id: string): Promise<void> => {
    const principal = await auth.authenticate(req.headers.authorization);
    if (principal instanceof LlmuxError) return reply(res, operation, principal.toInfo());
    if (req.method !== 'GET') return reply(res, operation, { code: ErrorCode.invalidRequest, retryable: false, message: `use GET ${operation.path}/{id}` });
    const stored = await operation.stateful?.stored(id, principal, answers).catch(memoryFailure);
    if (stored instanceof LlmuxError) return reply(res, operation, stored.toInfo());
    if (stored) sendJson(res, 200, stored);
  };

  const listModels = (res: ServerResponse): void => {
    const data: Array<Record<string, unknown>> = catalog.models().map((m) => ({
      id: `${m.functionId}/${m.model}`,
      object: 'model',
      created: Math.floor(Date.parse(m.createdAt) / 1000) || 0,
      owned_by: m.functionId,
    }));
    // Route models, one entry per backend that may serve them (llm-d lists a model once per owner).
    for (const route of options.routes?.routes.values() ?? []) {
      for (const model of route.match.models) {
        for (const b of route.backends) data.push({ id: model, object: 'model', created: 0, owned_by: b.ownedBy ?? b.backend });
      }
    }
    sendJson(res, 200, { object: 'list', data });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = requestIdFor(req.headers['x-request-id'] as string | undefined);
    res.setHeader('x-request-id', requestId);
    if (hopTimingOn) startHops(res, requestId);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/ready') {
      if (!ready) return sendJson(res, 503, { status: 'starting' });
      if (!transport.connected()) return sendJson(res, 503, { status: 'nats-disconnected' });
      return sendJson(res, 200, { status: 'ready' });
    }
    if (req.method === 'GET' && path === '/metrics') {
      if (options.metricsOnPublicPort === false) {
        return void sendError(res, { code: ErrorCode.notFound, retryable: false, message: 'this gateway serves GET /metrics on its --metrics-port, not on its public port' });
      }
      // Prometheus text, or OpenMetrics (with exemplars) when the scraper asks for it.
      const { contentType, text } = await metrics.render(req.headers.accept);
      res.writeHead(200, { 'content-type': contentType });
      return void res.end(text);
    }
    if (path.startsWith('/admin/')) {
      const denied = adminAuth.check(req.headers.authorization);
      if (denied) return void sendError(res, denied.toInfo());
      return handleAdmin({ transport, catalog, metrics, ...(options.keys ? { keys: options.keys } : {}), ...(options.routes ? { routes: options.routes } : {}) }, req, res, path);
    }
    const resumeOf = path.startsWith('/v1/streams/') ? path.slice('/v1/streams/'.length) : undefined;
    const lastEventId = req.headers['last-event-id'];
    if (resumeOf !== undefined || (typeof lastEventId === 'string' && operationAt(path) && req.method === 'POST')) {
      return resume(req, res, resumeOf, typeof lastEventId === 'string' ? lastEventId : undefined);
    }
    const stored = storedAnswerAt(path);
    if (stored) return getStored(req, res, stored.operation, stored.id);
    const operation = operationAt(path);
    const isModels = path === '/v1/models';
    if (!operation && !isModels) {
      return reply(res, undefined, { code: ErrorCode.unsupportedUri, retryable: false, message: `no route for ${req.method} ${path}` });
    }
    const principal = await auth.authenticateRequest(req.headers, operation?.keyHeader);
    if (principal instanceof LlmuxError) return reply(res, operation, principal.toInfo());
    if (isModels) {
      if (req.method !== 'GET') return reply(res, undefined, { code: ErrorCode.invalidRequest, retryable: false, message: 'use GET /v1/models' });
      return listModels(res);
    }
    if (req.method !== 'POST') {
      return reply(res, operation, { code: ErrorCode.invalidRequest, retryable: false, message: `use POST ${path}` });
    }
    await handleInference(req, res, operation as OperationSpec, requestId, principal);
  };

  /**
   * A client back for the rest of a stream: `GET /v1/streams/<stream-id>`, or its original request
   * again with `Last-Event-ID`. Only the credential that started it may read it; anyone else gets
   * the same 404 as for a stream that does not exist.
   */
  const resume = async (req: IncomingMessage, res: ServerResponse, streamId: string | undefined, lastEventId: string | undefined): Promise<void> => {
    const principal = await auth.authenticate(req.headers.authorization);
    if (principal instanceof LlmuxError) return reply(res, undefined, principal.toInfo());
    if (req.method === 'POST') await readJsonBody(req, bodyLimit()); // the repeated request body is not needed
    const last = lastEventId !== undefined ? parseSseId(lastEventId) : undefined;
    if (lastEventId !== undefined && !last) {
      return reply(res, undefined, { code: ErrorCode.invalidRequest, retryable: false, param: 'last-event-id', message: 'Last-Event-ID is not an id this gateway sent' });
    }
    const id = streamId ?? last?.streamId;
    // The id becomes part of a JetStream subject: anything but a stream id's shape (a 4 KB one reset the
    // gateway's NATS connection, over nats-server's line limit) is simply not a stream.
    if (!id || !isStreamId(id) || !options.journal || (last && last.streamId !== id)) {
      return reply(res, undefined, { code: ErrorCode.notFound, retryable: false, message: 'no such stream (or it is past its retention window)' });
    }
    traceResume(req, res, id, lastEventId);
    await serveResume({ journal: options.journal, log, ...options.resume }, principal, id, last?.id, res);
  };

  const http: HttpLimits = { ...defaultHttpLimits, ...options.http };
  const server: Server = createServer(serverOptions(http), (req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'unhandled error in request handler');
      if (!res.headersSent) sendError(res, { code: ErrorCode.internalError, retryable: true, message: 'internal error' });
      else res.end();
    });
  });
  capConnections(server, http, log);
  answerHalfClosed(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  // Listening, a failed accept (EMFILE: out of file descriptors) is an 'error' event: logged, not a crash.
  server.on('error', (error) => log.error({ err: error }, 'the HTTP server failed to accept a connection'));
  await transport.flush();
  ready = true;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    metrics,
    activeSessions: () => sessions.size,
    bufferedBytes: () => [...sessions].reduce((n, s) => n + s.buffered(), 0),
    async stop() {
      ready = false;
      actor.stopSweeps();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, 2_000).unref();
      });
      await actor.stop();
      await adapters.close();
    },
  };
}
