/**
 * The processes a bench starts (simulators, `llmux up` stacks, the peer gateway), stopped however the
 * bench ends: at its exit (its end, process.exit, an uncaught error) and on SIGINT, SIGTERM or SIGHUP,
 * which end Node without its exit handlers. Before, `timeout 4 node dist/bench/overhead.js` left the
 * bench's simulators running. Each child gets SIGTERM: an `llmux up` then stops what it started, its
 * nats-server included, on its own.
 */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

const live = new Set<ChildProcess>();
let installed = false;

/** Stops `child` when this process ends, unless it has exited before. Returns it. */
export function reapOnExit<C extends ChildProcess>(child: C): C {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!installed) {
    installed = true;
    process.once('exit', stopAll);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        process.stderr.write(`bench: ${signal}, stopping the ${live.size} process(es) it started\n`);
        stopAll();
        // A second signal ends the bench at once (Node's default, the handler having gone).
        process.exit(128 + constants.signals[signal]);
      });
    }
  }
  return child;
}

function stopAll(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  live.clear();
}
