/** `llmux top`: a live view of a running deployment through the admin API; `--once` prints one plain snapshot, `--json` its JSON. */
import type { AdminFlags } from '../admin/admin-client.js';
import { StatsSource } from './top-fetch.js';
import { renderLines } from './top-render.js';

export interface TopFlags extends AdminFlags {
  once?: boolean;
  intervalMs: number;
  usageWindowS: number;
}

export async function top(flags: TopFlags): Promise<void> {
  const source = new StatsSource(flags, flags.usageWindowS);
  if (flags.json) return void process.stdout.write(`${JSON.stringify(await source.fetch(), null, 2)}\n`);
  if (flags.once) return void process.stdout.write(`${renderLines(await source.fetch(), { url: source.url }).join('\n')}\n`);
  if (!process.stdout.isTTY || !process.stdin.isTTY) throw new Error('llmux top needs a terminal; use --once for a plain snapshot or --json');
  await (await import('./top-screen.js')).runLive(source, flags.intervalMs);
}
