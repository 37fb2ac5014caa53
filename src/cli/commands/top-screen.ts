/**
 * The live terminal of `llmux top`, in the spirit of htop: the alternate screen, redrawn in place
 * every refresh and on resize; q or Ctrl-C quits and gives the terminal back as it was. An
 * unreachable gateway shows as an error line over the last data, and is tried again every refresh.
 */
import type { StatsSnapshot } from '../../admin-api/stats-snapshot.js';
import type { StatsSource } from './top-fetch.js';
import { renderLines } from './top-render.js';

const enterScreen = '\x1b[?1049h\x1b[?25l';
const leaveScreen = '\x1b[?25h\x1b[?1049l';
const home = '\x1b[H';
const clearLine = '\x1b[K';
const clearBelow = '\x1b[J';

export async function runLive(source: StatsSource, intervalMs: number): Promise<void> {
  const { stdin, stdout } = process;
  let latest: StatsSnapshot | undefined;
  let previous: StatsSnapshot | undefined;
  let problem: string | undefined;
  let stopped = false;
  let wake: (() => void) | undefined;

  const draw = (): void => {
    const width = stdout.columns || 80;
    const height = stdout.rows || 24;
    const lines = latest
      ? renderLines(latest, { url: source.url, width, live: true, ...(previous ? { previous } : {}), ...(problem ? { problem } : {}) })
      : [`llmux top  ${source.url}  (q: quit)`.slice(0, width), (problem ? `!! ${problem}` : 'waiting for the first snapshot ...').slice(0, width)];
    stdout.write(`${home}${lines.slice(0, height).join(`${clearLine}\n`)}${clearLine}${clearBelow}`);
  };
  const stop = (): void => {
    stopped = true;
    wake?.();
  };
  const onKey = (data: Buffer): void => {
    const key = data.toString('utf8');
    if (key === 'q' || key === 'Q' || key === '\x03') stop();
  };

  stdout.write(enterScreen);
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onKey);
  stdin.resume();
  stdout.on('resize', draw);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    draw();
    while (!stopped) {
      const started = Date.now();
      try {
        const next = await source.fetch();
        if (latest) previous = latest;
        latest = next;
        problem = undefined;
      } catch (error) {
        problem = `${error instanceof Error ? error.message : String(error)}; retrying every ${intervalMs / 1000} s`;
      }
      if (stopped) break;
      draw();
      // q wakes the wait and clears its timer: a long --interval-ms must not hold the process open.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - started)));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    stdout.off('resize', draw);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    stdin.off('data', onKey);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    stdout.write(leaveScreen);
  }
}
