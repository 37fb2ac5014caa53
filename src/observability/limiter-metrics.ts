/**
 * The limiter's Prometheus metrics: reservations by result, refusals by the limit hit, how long a
 * reservation took from its arrival to the answer (mailbox wait included), settlements, messages
 * dropped by a full mailbox, and the reservations it holds unsettled.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the limiter tells its metrics of one reservation (a ReserveResult has it). */
export type ReservationFacts = { ok: true } | { ok: false; limited: { kind: string; scope: string } };

/** The hooks the limiter actor calls (its `metrics` option). */
export interface LimiterMetricsHooks {
  /** A reservation answered, `seconds` after it arrived. */
  reserved(result: ReservationFacts, seconds: number): void;
  settled(): void;
  /** A message dropped because the mailbox was full (the gateway's reserve then times out into its fail mode). */
  dropped(): void;
}

export class LimiterMetrics implements LimiterMetricsHooks {
  readonly registry = new Registry();
  #held: (() => number) | undefined;

  readonly reservations = new Counter({
    name: 'llmux_limiter_reservations_total',
    help: 'Reservations the limiter answered, by result (admitted, refused).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly refusals = new Counter({
    name: 'llmux_limiter_refusals_total',
    help: 'Reservations refused, by the kind of limit hit (requests, tokens, prompt, completion) and its scope (key, tenant, model, header).',
    labelNames: ['limit', 'scope'] as const,
    registers: [this.registry],
  });

  readonly reservationDuration = new Histogram({
    name: 'llmux_limiter_reservation_duration_seconds',
    help: 'Time from a reservation reaching the limiter to its answer, mailbox wait included.',
    buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
    registers: [this.registry],
  });

  readonly settlements = new Counter({
    name: 'llmux_limiter_settlements_total',
    help: 'Settlements received (a request ended and its gateway reported what it used).',
    registers: [this.registry],
  });

  readonly droppedMessages = new Counter({
    name: 'llmux_limiter_dropped_total',
    help: "Limiter messages dropped because its mailbox was full (the gateways' reservations time out into their fail mode).",
    registers: [this.registry],
  });

  readonly heldReservations = new Gauge({
    name: 'llmux_limiter_reservations_held',
    help: 'Reservations admitted and not yet settled or forgotten.',
    registers: [this.registry],
    collect: () => {
      if (this.#held) this.heldReservations.set(this.#held());
    },
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'llmux_limiter_' });
  }

  /** Reads the limiter's unsettled reservations at every scrape. */
  watch(held: () => number): void {
    this.#held = held;
  }

  reserved(result: ReservationFacts, seconds: number): void {
    this.reservations.inc({ result: result.ok ? 'admitted' : 'refused' });
    if (!result.ok) this.refusals.inc({ limit: result.limited.kind, scope: result.limited.scope.split(':')[0] ?? 'unknown' });
    this.reservationDuration.observe(seconds);
  }

  settled(): void {
    this.settlements.inc();
  }

  dropped(): void {
    this.droppedMessages.inc();
  }
}
