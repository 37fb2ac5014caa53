/**
 * The spans of one request, hop by hop; the actors call these and know nothing of OpenTelemetry.
 * One trace per request: the gateway's server span is the parent of prompt counting, admission,
 * every router decision and every worker's handling (the router forwards the gateway's
 * `traceparent` untouched), and a worker's handling is the parent of its engine call, a client span
 * whose `traceparent` goes to the engine. A retry or a migration is one more decision and worker
 * span under the same server span, with `llmux.attempt` telling them apart; a resumed stream is a
 * server span of its own.
 *
 * With tracing off (tracing.ts) each helper returns after one test: no span, no attribute object.
 * Nothing here runs per token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Attributes, type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { traceparentFor } from '../actors/gateway/trace-context.js';
import type { CandidateRecord, CandidateTable } from '../actors/router/decision.js';
import type { ReserveInput, ReserveResult } from '../policy/limiter-state.js';
import { spanIdOf, traceFlagsOf, traceIdOf, validTraceparent } from './traceparent.js';
import { tracingOn } from './tracing.js';

let cachedTracer: Tracer | undefined;
const tracer = (): Tracer => (cachedTracer ??= trace.getTracer('llmux'));

/** Start options by kind, shared: the SDK only reads them. */
const kindOptions = {
  [SpanKind.INTERNAL]: { kind: SpanKind.INTERNAL }, [SpanKind.SERVER]: { kind: SpanKind.SERVER }, [SpanKind.CLIENT]: { kind: SpanKind.CLIENT },
  [SpanKind.PRODUCER]: { kind: SpanKind.PRODUCER }, [SpanKind.CONSUMER]: { kind: SpanKind.CONSUMER },
} as const;

/**
 * Starts a span and then sets its attributes. Given at the start, the SDK copies and checks them
 * twice for the sampler before setting them one by one; the samplers `OTEL_TRACES_SAMPLER` names
 * (always_on/off, traceidratio, parentbased_*) never read them, so they are set once, after.
 */
function startSpan(name: string, kind: SpanKind, parent: Context, attributes?: Attributes): Span {
  const span = tracer().startSpan(name, kindOptions[kind], parent);
  if (attributes) span.setAttributes(attributes);
  return span;
}

/**
 * The key the API keeps a context's span under. It is `Symbol.for` of a fixed description, so that
 * copies of the API agree on it; parentContext() checks that it still finds the span there.
 */
const SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN');

/**
 * A context holding one span and nothing else, which is all a span's parent is here: the API's own
 * context copies a Map for every value set (`trace.setSpan`), for each of a request's spans. It
 * answers `getValue` as that context would, and becomes one as soon as anything sets a value.
 */
class ParentContext implements Context {
  readonly #span: Span;

  constructor(span: Span) {
    this.#span = span;
  }

  getValue(key: symbol): unknown {
    return key === SPAN_KEY ? this.#span : undefined;
  }

  setValue(key: symbol, value: unknown): Context {
    return trace.setSpan(ROOT_CONTEXT, this.#span).setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return key === SPAN_KEY ? ROOT_CONTEXT : this;
  }
}

/** Whether the API finds a span in a ParentContext: if a version of it ever keys spans otherwise, parents go back to its own contexts. */
let parentContextWorks: boolean | undefined;

/** The context whose span is `span`, as the parent of the next span started in it. */
export function parentContext(span: Span): Context {
  parentContextWorks ??= trace.getSpan(new ParentContext(span)) === span;
  return parentContextWorks ? new ParentContext(span) : trace.setSpan(ROOT_CONTEXT, span);
}

/** The context a W3C `traceparent` names (a remote parent), or the root when there is none or it is malformed. */
export function contextOf(traceparent: string | undefined): Context {
  if (!validTraceparent(traceparent)) return ROOT_CONTEXT;
  return parentContext(trace.wrapSpanContext({ traceId: traceIdOf(traceparent), spanId: spanIdOf(traceparent), traceFlags: traceFlagsOf(traceparent), isRemote: true }));
}

/** The `traceparent` that makes `span` the parent of what receives it. */
export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & 1).toString(16).padStart(2, '0')}`;
}

/** The GenAI `gen_ai.operation.name` of each llmux operation. */
const genAiOperation: Record<string, string> = { chat: 'chat', completion: 'text_completion', embeddings: 'embeddings', responses: 'chat' };

/** How a request ended, as the gateway's session reports it (session-accounting.ts SessionEnd). */
export interface RequestOutcome {
  outcome: 'ok' | 'failed' | 'cancelled';
  status: number;
  workerId?: string;
  promptTokens: number;
  completionTokens: number;
  finishReason?: string;
  errorCode?: string;
  migrations?: number;
}

/** What admission asks of the limiter: a reservation against the limits that apply. */
export interface Reserver {
  reserve(input: ReserveInput): Promise<ReserveResult | 'unavailable'>;
}

/** The gateway's view of one inference request's trace. */
export interface InferenceTrace {
  /** What goes in the NATS headers to routers and workers. */
  readonly traceparent: string;
  /** Prompt counting, as a child span. */
  counting<T>(run: () => Promise<T>): Promise<T>;
  /**
   * The limiter admission reserves with: tracing on, each reservation (admission with the limiter,
   * its round trip) is a child span. A request no limit applies to never calls the limiter, so it
   * has no admission span.
   */
  limiter(limiter: Reserver): Reserver;
  /** Wraps the session's end callback: the server span ends with the request's outcome and usage. */
  ending<E extends RequestOutcome>(onEnd: (end: E) => void): (end: E) => void;
}

const untraced = <T>(run: () => Promise<T>): Promise<T> => run();
const sameLimiter = (limiter: Reserver): Reserver => limiter;
const sameEnd = <F>(onEnd: F): F => onEnd;

/** The server span of an inference request; tracing off, only the `traceparent` to pass on (the client's, or a fresh one). */
export function traceInference(req: IncomingMessage, res: ServerResponse, operation: string, model: string): InferenceTrace {
  const incoming = req.headers.traceparent as string | undefined;
  if (!tracingOn()) return { traceparent: traceparentFor(incoming), counting: untraced, limiter: sameLimiter, ending: sameEnd };
  const genAiName = genAiOperation[operation] ?? operation;
  const path = (req.url ?? '/').split('?')[0] as string;
  // Set one by one on the span, not gathered in an object it would copy: this runs for every traced request.
  const span = tracer().startSpan(`${genAiName} ${model}`, kindOptions[SpanKind.SERVER], contextOf(incoming));
  span.setAttribute('http.request.method', req.method ?? 'POST').setAttribute('url.path', path).setAttribute('url.scheme', 'http')
    .setAttribute('http.route', path).setAttribute('network.protocol.version', req.httpVersion)
    .setAttribute('gen_ai.operation.name', genAiName).setAttribute('gen_ai.request.model', model).setAttribute('gen_ai.provider.name', 'llmux');
  const local = req.socket.localAddress;
  if (local) span.setAttribute('server.address', local).setAttribute('server.port', req.socket.localPort as number);
  const userAgent = req.headers['user-agent'];
  if (userAgent) span.setAttribute('user_agent.original', userAgent);
  const requestId = req.headers['x-request-id'];
  if (typeof requestId === 'string') span.setAttribute('llmux.request_id', requestId);
  const parent = parentContext(span);
  let owned = false;
  let ended = false;
  const end = (status: number, outcome?: RequestOutcome): void => {
    if (ended) return;
    ended = true;
    span.setAttribute('http.response.status_code', status);
    if (outcome) {
      span.setAttribute('gen_ai.response.model', model).setAttribute('gen_ai.usage.input_tokens', outcome.promptTokens)
        .setAttribute('gen_ai.usage.output_tokens', outcome.completionTokens).setAttribute('llmux.outcome', outcome.outcome);
      if (outcome.finishReason) span.setAttribute('gen_ai.response.finish_reasons', [outcome.finishReason]);
      if (outcome.workerId) span.setAttribute('llmux.worker.id', outcome.workerId);
      if (outcome.migrations) span.setAttribute('llmux.migrations', outcome.migrations);
    }
    if (status >= 500) {
      span.setAttribute('error.type', outcome?.errorCode ?? String(status));
      span.setStatus({ code: SpanStatusCode.ERROR, ...(outcome?.errorCode ? { message: outcome.errorCode } : {}) });
    }
    span.end();
  };
  // A request refused before it had a session (too long, rate-limited) ends with its response.
  res.once('close', () => {
    if (!owned) end(res.statusCode);
  });
  const child = async <T>(name: string, run: () => Promise<T>, describe?: (result: T) => Attributes): Promise<T> => {
    const step = startSpan(name, SpanKind.INTERNAL, parent);
    try {
      const result = await run();
      if (describe) step.setAttributes(describe(result));
      return result;
    } catch (error) {
      step.recordException(error as Error);
      step.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      step.end();
    }
  };
  return {
    traceparent: traceparentOf(span),
    // The gateway's own count, before admission (the engine's, on the server span, may differ).
    counting: (run) => child('llmux.prompt_count', run, (prompt) => {
      const total = (prompt as { total?: unknown } | undefined)?.total;
      return typeof total === 'number' ? { 'llmux.prompt.tokens': total } : {};
    }),
    limiter: (limiter) => ({
      reserve: (input) => child('llmux.admission', () => limiter.reserve(input), (result) => reservationAttributes(input, result)),
    }),
    ending: (onEnd) => {
      owned = true;
      return (outcome) => {
        end(outcome.status, outcome);
        onEnd(outcome);
      };
    },
  };
}

/** A client back for the rest of a stream (`Last-Event-ID`, `GET /v1/streams/<id>`): a server span of its own, ended with the response. */
export function traceResume(req: IncomingMessage, res: ServerResponse, streamId: string, lastEventId: string | undefined): void {
  if (!tracingOn()) return;
  const span = startSpan('llmux.resume', SpanKind.SERVER, contextOf(req.headers.traceparent as string | undefined), {
    'http.request.method': req.method ?? 'GET', 'url.path': (req.url ?? '/').split('?')[0], 'llmux.stream.id': streamId,
    ...(lastEventId !== undefined ? { 'llmux.resume.last_event_id': lastEventId } : {}),
  });
  res.once('close', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
}

/** A reservation's span attributes: how many limits it was checked against, and the limiter's answer. */
function reservationAttributes(input: ReserveInput, result: ReserveResult | 'unavailable'): Attributes {
  if (result === 'unavailable') return { 'llmux.admission.limits': input.buckets.length, 'llmux.admission.limiter': 'unavailable' };
  return { 'llmux.admission.limits': input.buckets.length, 'llmux.admission.admitted': result.ok,
    ...(result.ok ? {} : { 'llmux.admission.refusal': 'rate_limited', 'llmux.admission.limit': `${result.limited.scope.split(':')[0]}:${result.limited.kind}` }) };
}

/** The span of the router's dispatch now running: dispatch is synchronous, so one slot suffices. */
let routing: Span | undefined;

/** The trace id of the router's dispatch now running, with tracing on (for the decision histogram's exemplar). */
export function routingTraceId(): string | undefined {
  return routing?.spanContext().traceId;
}

/** A router's handling of one dispatch, as a span under the gateway's; `run` records its decision with traceDecision. */
export function traceRouting(traceparent: string | undefined, subject: string, run: () => void): void {
  if (!tracingOn()) return run();
  const span = startSpan('llmux.route', SpanKind.CONSUMER, contextOf(traceparent), { 'messaging.system': 'nats', 'messaging.destination.name': subject });
  routing = span;
  try {
    run();
  } finally {
    routing = undefined;
    span.end();
  }
}

/** What a decision record says, as the routing span's attributes. */
export interface DecisionFacts {
  attempt: number;
  method: string;
  outcome: string;
  decisionMicros: number;
  winner?: string;
  locality?: string;
  spill?: { cluster: string; reason: string };
  candidates: CandidateTable | readonly CandidateRecord[];
}

/** Workers per exclusion reason in a list of candidate records. */
function exclusionCounts(candidates: readonly CandidateRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of candidates) if (c.excluded) out.set(c.excluded, (out.get(c.excluded) ?? 0) + 1);
  return out;
}

/** Adds a decision to the routing span running, if any; `configVersion` is asked only then. */
export function traceDecision(decision: DecisionFacts, configVersion: () => string | undefined): void {
  const span = routing;
  if (!span) return;
  const { candidates } = decision;
  const n = candidates.length;
  const excluded = 'exclusions' in candidates ? candidates.exclusions() : exclusionCounts(candidates);
  const version = configVersion();
  const attributes: Attributes = {
    'llmux.attempt': decision.attempt, 'llmux.routing.method': decision.method, 'llmux.routing.outcome': decision.outcome,
    'llmux.routing.candidates': n, 'llmux.routing.decision_us': decision.decisionMicros,
  };
  if (decision.winner) attributes['llmux.routing.winner'] = decision.winner;
  if (decision.locality) attributes['llmux.routing.locality'] = decision.locality;
  if (decision.spill) {
    attributes['llmux.routing.spill.cluster'] = decision.spill.cluster;
    attributes['llmux.routing.spill.reason'] = decision.spill.reason;
  }
  if (version) attributes['llmux.config.version'] = version;
  if (excluded.size > 0) {
    const counts: Attributes = {};
    for (const [reason, count] of excluded) {
      attributes[`llmux.routing.excluded.${reason}`] = count;
      counts[reason] = count;
    }
    span.setAttributes(attributes);
    span.addEvent('llmux.routing.exclusions', counts);
  } else span.setAttributes(attributes);
}

/** A worker's handling of one request and its engine call. */
export interface WorkerTrace {
  /** What the engine receives as `traceparent`: the engine span's, or (tracing off) the one the worker received. */
  readonly engineTraceparent: string | undefined;
  end(outcome: 'ok' | 'failed' | 'cancelled', usage?: { promptTokens?: number; completionTokens?: number }, finishReason?: string): void;
}

export interface WorkerRequestFacts {
  requestId: string;
  model: string;
  operation: string;
  routing: { attempt: number };
  continuation?: { tokens: number };
}

const noEnd = (): void => undefined;

/** An engine call: a client span under `parent`, named as the GenAI conventions name it; `attributes` (the caller's own object) gets the GenAI ones. */
function startEngineSpan(parent: Context, operation: string, model: string, engineKind: string, attributes: Attributes = {}): Span {
  const genAiName = genAiOperation[operation] ?? operation;
  attributes['gen_ai.operation.name'] = genAiName;
  attributes['gen_ai.request.model'] = model;
  attributes['gen_ai.provider.name'] = engineKind;
  return startSpan(`${genAiName} ${model}`, SpanKind.CLIENT, parent, attributes);
}

type EngineEnd = (outcome: 'ok' | 'failed' | 'cancelled', usage?: { promptTokens?: number; completionTokens?: number }, finishReason?: string) => void;

/** Ends an engine span with what the engine answered. */
function endEngineSpan(engine: Span, model: string): EngineEnd {
  let ended = false;
  return (outcome, usage, finishReason) => {
    if (ended) return;
    ended = true;
    const attributes: Attributes = { 'gen_ai.response.model': model };
    if (usage?.promptTokens !== undefined) attributes['gen_ai.usage.input_tokens'] = usage.promptTokens;
    if (usage?.completionTokens !== undefined) attributes['gen_ai.usage.output_tokens'] = usage.completionTokens;
    if (finishReason) attributes['gen_ai.response.finish_reasons'] = [finishReason];
    engine.setAttributes(attributes);
    if (outcome === 'failed') engine.setStatus({ code: SpanStatusCode.ERROR });
    engine.end();
  };
}

/** One call to a route's backend, straight from the gateway: a client span under the server span (`traceparent`), whose own traceparent goes to the backend. */
export interface EngineCallTrace {
  readonly traceparent: string;
  end: EngineEnd;
}

export function traceEngineCall(traceparent: string, call: { operation: string; model: string; engineKind: string; route: string; backend: string; attempt: number }): EngineCallTrace {
  if (!tracingOn()) return { traceparent, end: noEnd };
  const engine = startEngineSpan(contextOf(traceparent), call.operation, call.model, call.engineKind,
    { 'llmux.route': call.route, 'llmux.backend': call.backend, 'llmux.attempt': call.attempt });
  return { traceparent: traceparentOf(engine), end: endEngineSpan(engine, call.model) };
}

/** The worker's span (under the gateway's) and the engine's client span under it. */
export function traceWorker(traceparent: string | undefined, request: WorkerRequestFacts, engineKind: string, workerId: string): WorkerTrace {
  if (!tracingOn()) return { engineTraceparent: traceparent, end: noEnd };
  const attributes: Attributes = {
    'messaging.system': 'nats', 'llmux.worker.id': workerId, 'llmux.request_id': request.requestId, 'llmux.attempt': request.routing.attempt,
  };
  if (request.continuation) {
    attributes['llmux.migration'] = true;
    attributes['llmux.migration.delivered_tokens'] = request.continuation.tokens;
  }
  const span = startSpan('llmux.worker', SpanKind.CONSUMER, contextOf(traceparent), attributes);
  const engine = startEngineSpan(parentContext(span), request.operation, request.model, engineKind);
  const endEngine = endEngineSpan(engine, request.model);
  return {
    engineTraceparent: traceparentOf(engine),
    end(outcome, usage, finishReason) {
      endEngine(outcome, usage, finishReason);
      span.setAttribute('llmux.outcome', outcome);
      if (outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}
