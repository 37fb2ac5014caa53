/** `--nkey-seed-file`: the NATS identity a command connects with, read once at start. */
import { readFileSync } from 'node:fs';

export function seedFrom(path: string | undefined): { nkeySeed?: string } {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new Error(`cannot read --nkey-seed-file ${path}: ${(error as Error).message}`);
  }
  if (!/^SU[A-Z2-7]{56}$/.test(text)) throw new Error(`--nkey-seed-file ${path} does not hold a NATS user nkey seed (SU...)`);
  return { nkeySeed: text };
}
