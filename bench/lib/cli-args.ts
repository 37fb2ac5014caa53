/**
 * The benchmarks' command lines: node:util parseArgs with a usage text. `--help` (or `-h`) prints
 * every option with its default and meaning and exits 0 before the bench starts anything; a command
 * line parseArgs refuses (an unknown option, a missing value, a stray argument) is one line on
 * stderr and exit code 2 rather than a TypeError and its stack.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** One option: parseArgs' own config, plus the line --help prints for it. */
export type BenchOption = NonNullable<ParseArgsConfig['options']>[string] & { help: string };

/** What parseArgs would return for these options, typed as precisely as a parseArgs call written inline. */
export type BenchArgs<O extends Record<string, BenchOption>, P extends boolean> =
  ReturnType<typeof parseArgs<{ options: O; allowPositionals: P }>>;

export interface BenchArgsExtra<P extends boolean> {
  /** Whether positional arguments are taken (parseArgs' allowPositionals; off by default). */
  allowPositionals?: P;
  /** More usage lines, after `node dist/bench/<name>.js [options]`: other forms of the command. */
  usage?: string[];
  /** The arguments to parse; those after the script's path by default. */
  args?: string[];
}

/** The command line of the bench `name` (as in `bench:limiter`), parsed; or its usage, or its error, and an exit. */
export function benchArgs<O extends Record<string, BenchOption>, P extends boolean = false>(
  name: string, description: string, options: O, extra: BenchArgsExtra<P> = {},
): BenchArgs<O, P> {
  const args = extra.args ?? process.argv.slice(2);
  const all: Record<string, BenchOption> = { ...options, help: { type: 'boolean', short: 'h', help: 'print this text and exit' } };
  // --help (before any `--`) wins over whatever else is wrong with the command line.
  if ((args.includes('--') ? args.slice(0, args.indexOf('--')) : args).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(usage(name, description, all, extra.usage ?? []));
    return process.exit(0);
  }
  try {
    return parseArgs({ args, options: all, allowPositionals: extra.allowPositionals ?? false, strict: true }) as unknown as BenchArgs<O, P>;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) throw error;
    process.stderr.write(`${name}: ${oneLine(code, (error as Error).message)} (try --help)\n`);
    return process.exit(2);
  }
}

/** A value the bench cannot use (a number out of range, an unknown name): one line on stderr and exit 2, as for a bad option. */
export function badArgument(name: string, message: string): never {
  process.stderr.write(`${name}: ${message} (try --help)\n`);
  return process.exit(2);
}

/** parseArgs' message, shorter and on one line: it may run to three lines with advice on `--`. */
function oneLine(code: string, message: string): string {
  const quoted = /'([^' ]+)/.exec(message)?.[1];
  if (quoted !== undefined) {
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${quoted}'`;
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument '${quoted}'`;
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      return /does not take/.test(message) ? `option '${quoted}' takes no value` : `option '${quoted}' needs a value`;
    }
  }
  const first = message.split('\n')[0] ?? message;
  return first.charAt(0).toLowerCase() + first.slice(1);
}

function usage(name: string, description: string, options: Record<string, BenchOption>, more: string[]): string {
  const left = Object.entries(options).map(([long, o]) =>
    `  ${o.short ? `-${o.short}, ` : '    '}--${long}${o.type === 'string' ? (o.multiple ? ' <value> ...' : ' <value>') : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = Object.values(options).map((o, i) => {
    const d = o.default;
    const shown = d === undefined || (Array.isArray(d) && d.length === 0) ? [] : [`(default: ${d === '' ? "''" : String(d)})`];
    return wrap((left[i] ?? '').padEnd(width), [...words(o.help), ...shown]);
  });
  const script = `node dist/bench/${name.replace(/^bench:/, '')}.js`;
  return [`usage: ${script} [options]`, ...more.map((m) => `       ${m}`), '', wrap('', words(description)), '', 'options:', ...lines, ''].join('\n');
}

const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== '');

/** `items` after `lead`, wrapped at 100 columns (an item is never split), further lines indented as far as the lead. */
function wrap(lead: string, items: string[]): string {
  const done: string[] = [];
  let line = lead;
  items.forEach((item, i) => {
    if (i > 0 && line.length + 1 + item.length > 100) {
      done.push(line);
      line = ' '.repeat(lead.length) + item;
    } else line += i > 0 ? ` ${item}` : item;
  });
  return [...done, line].join('\n');
}

/** What a numeric option takes: whole numbers only, and a lowest value (0 unless given). */
export interface NumberRule {
  integer?: boolean;
  min?: number;
}

/** A count: a whole number of at least 1 (requests, rounds, workers, ...). */
export const count: NumberRule = { integer: true, min: 1 };

/**
 * A reader of the bench `name`'s numeric options: each value a finite number of at least the rule's
 * `min` (0 by default), whole where the rule says so; anything else is one line naming the option and
 * exit 2, as for a bad command line. A bare Number() took `--requests abc` as NaN and ran with it.
 */
export function numberReader(name: string, values: Readonly<Record<string, unknown>>): (option: string, rule?: NumberRule) => number {
  return (option, { integer = false, min = 0 } = {}) => {
    const raw = values[option];
    const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    const kind = integer ? 'a whole number' : 'a number';
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) badArgument(name, `--${option} must be ${kind} >= ${min}, got '${String(raw)}'`);
    return n;
  };
}
