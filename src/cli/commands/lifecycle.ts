/** Runs until SIGINT/SIGTERM, then stops what was started, once; a second signal forces exit. */
export function stopOnSignals(stop: () => Promise<void>, say: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      say(`llmux: ${signal} again, exiting now`);
      process.exit(130);
    }
    stopping = true;
    say(`llmux: ${signal} received, stopping ...`);
    stop().then(
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
