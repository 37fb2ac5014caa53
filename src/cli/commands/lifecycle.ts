import { stopTracing, tracingOn } from '../../observability/tracing.js';

/**
 * How long a signalled process may take to stop before it exits anyway. Above a worker's default
 * drain (10 s) plus a gateway's close (2 s), so a stop that is only slow still finishes.
 */
export const stopDeadlineMs = 15_000;

export interface StopOnSignalsOptions {
  say?: (line: string) => void;
  /** Exit anyway this long after the first signal (default `stopDeadlineMs`). */
  deadlineMs?: number;
  /** What the stop is waiting for, named in the forced-exit line. */
  status?: () => string | undefined;
}

/**
 * Runs until SIGINT/SIGTERM, then stops what was started, once. The stop is bounded: past the
 * deadline, or at once on a second signal, the process exits without finishing it. Nothing it
 * started outlives it even then: the managed nats-server is killed by its own 'exit' hook
 * (nats-server-process.ts).
 */
export function stopOnSignals(stop: () => Promise<void>, options: StopOnSignalsOptions = {}): void {
  const say = options.say ?? ((l: string) => void process.stderr.write(`${l}\n`));
  const deadlineMs = options.deadlineMs ?? stopDeadlineMs;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      say(`llmux: ${signal} again, exiting now`);
      process.exit(130);
    }
    stopping = true;
    say(`llmux: ${signal} received, stopping (at most ${deadlineMs / 1000} s; ${signal} again to exit now) ...`);
    setTimeout(() => {
      say(`llmux: forced exit after ${deadlineMs / 1000} s: ${options.status?.() ?? 'the stop did not finish'}`);
      process.exit(1);
    }, deadlineMs).unref();
    // Spans still buffered are exported before the process exits: a collector that does not answer
    // holds the stop for the exporter's timeout (OTEL_EXPORTER_OTLP_TIMEOUT, 10 s by default), so say so.
    stop().then(() => {
      if (tracingOn()) say('llmux: exporting the spans still buffered (up to the OTLP export timeout) ...');
      return stopTracing();
    }).then(
      () => {
        say('llmux: stopped');
        process.exit(0);
      },
      (error: unknown) => {
        say(`llmux: error while stopping: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
