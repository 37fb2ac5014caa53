/**
 * The compiled JavaScript file of a module that must run as its own thread (a worker thread's entry,
 * a piscina task): next to the calling module in dist/, or in dist/ when the caller runs from the
 * TypeScript sources (tests), since a worker thread cannot load TypeScript.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export function compiledFile(callerUrl: string, fileName: string): string {
  const here = fileURLToPath(callerUrl);
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const file = here.endsWith('.ts') ? join(root, 'dist', relative(root, dirname(here)), fileName) : join(dirname(here), fileName);
  if (!existsSync(file)) throw new Error(`the compiled file ${file} is missing: run \`npm run build\``);
  return file;
}
