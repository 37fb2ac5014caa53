// benchArgs in this process, with process.exit and the two output streams stubbed: exit throws
// (as the real one, it must stop the caller), the writes are kept for the assertions.
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { badArgument, benchArgs, count, numberReader, type NumberRule } from './cli-args.js';

class Exit extends Error {
  constructor(readonly code: number | undefined) {
    super(`process.exit(${code})`);
  }
}

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process, 'exit').mockImplementation((code) => {
    throw new Exit(code === undefined || code === null ? undefined : Number(code));
  });
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The bench `bench:test`'s command line: one option of each kind. */
function parse<P extends boolean = false>(args: string[], extra: { allowPositionals?: P; usage?: string[] } = {}) {
  return benchArgs('bench:test', 'What the test bench measures.', {
    requests: { type: 'string', default: '20000', help: 'reservations per measurement' },
    'cpu-prof-dir': { type: 'string', help: 'a CPU profile into this directory' },
    json: { type: 'boolean', default: false, help: 'the report as JSON' },
    env: { type: 'string', multiple: true, default: [], help: 'NAME=value, repeatable' },
  }, { ...extra, args });
}

/** parse(args): the exit code when it exits, its result when it returns. */
function run(args: string[], extra: { allowPositionals?: boolean; usage?: string[] } = {}): { exit?: number | undefined; result?: unknown } {
  try {
    return { result: parse(args, extra) };
  } catch (error) {
    if (error instanceof Exit) return { exit: error.code };
    throw error;
  }
}

describe('benchArgs', () => {
  it.each([[['--help']], [['-h']], [['--requests', '5', '--help']], [['--no-such-option', '-h']]])(
    '%j: prints the usage, with every option and its default, on stdout and exits 0', (args) => {
      expect(run(args)).toEqual({ exit: 0 });
      expect(err).toBe('');
      expect(out).toMatch(/^usage: node dist\/bench\/test\.js \[options\]\n/);
      expect(out).toContain('What the test bench measures.');
      expect(out).toMatch(/--requests <value> +reservations per measurement \(default: 20000\)\n/);
      expect(out).toMatch(/--cpu-prof-dir <value> +a CPU profile into this directory\n/);
      expect(out).toMatch(/--json +the report as JSON \(default: false\)\n/);
      expect(out).toMatch(/--env <value> \.\.\. +NAME=value, repeatable\n/);
      expect(out).toMatch(/-h, --help +print this text and exit\n/);
    });

  it('prints the other forms of the command it is given', () => {
    expect(run(['--help'], { allowPositionals: true, usage: ['node dist/bench/test.js serve NAME'] })).toEqual({ exit: 0 });
    expect(out).toMatch(/^usage: node dist\/bench\/test\.js \[options\]\n {7}node dist\/bench\/test\.js serve NAME\n\n/);
  });

  it('takes --help after `--` for a positional', () => {
    expect(parse(['--', '--help'], { allowPositionals: true }).positionals).toEqual(['--help']);
    expect(run(['--', '--help'])).toEqual({ exit: 2 });
    expect(err).toBe("bench:test: unexpected argument '--help' (try --help)\n");
  });

  it.each([
    [['--foo'], "unknown option '--foo'"],
    [['--requests', '5', '-x'], "unknown option '-x'"],
    [['--requests'], "option '--requests' needs a value"],
    [['--requests', '--json'], "option '--requests' needs a value"],
    [['--json=yes'], "option '--json' takes no value"],
    [['stray'], "unexpected argument 'stray'"],
  ])('%j: one line on stderr and exit 2', (args, message) => {
    expect(run(args)).toEqual({ exit: 2 });
    expect(err).toBe(`bench:test: ${message} (try --help)\n`);
    expect(out).toBe('');
  });

  it('returns what parseArgs returns, typed as parseArgs types it', () => {
    const { values, positionals } = parse(['--requests', '5', '--json', '--env', 'A=1', '--env', 'B=2']);
    expect({ ...values }).toEqual({ requests: '5', json: true, env: ['A=1', 'B=2'] });
    expect(positionals).toEqual([]);
    expectTypeOf(values.requests).toEqualTypeOf<string>();
    expectTypeOf(values['cpu-prof-dir']).toEqualTypeOf<string | undefined>();
    expectTypeOf(values.json).toEqualTypeOf<boolean>();
    expectTypeOf(values.env).toEqualTypeOf<string[]>();
    expectTypeOf(positionals).toEqualTypeOf<[]>();

    const defaults = parse([]).values;
    expect({ ...defaults }).toEqual({ requests: '20000', json: false, env: [] });

    const served = parse(['serve', 'fastify', '--json'], { allowPositionals: true });
    expect(served.positionals).toEqual(['serve', 'fastify']);
    expectTypeOf(served.positionals).toEqualTypeOf<string[]>();
    expect(out + err).toBe('');
  });

  it('rethrows what is not a command line error', () => {
    // A string option with a boolean default is parseArgs' config error (ERR_INVALID_ARG_TYPE), the bench's bug.
    expect(() => benchArgs('bench:test', 'd', { n: { type: 'string', default: true as unknown as string, help: 'n' } }, { args: [] }))
      .toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('ends a bench on a value it cannot use with one line and exit 2', () => {
    expect(() => badArgument('bench:test', "unknown workload 'x'")).toThrow(expect.objectContaining({ code: 2 }));
    expect(err).toBe("bench:test: unknown workload 'x' (try --help)\n");
  });
});

describe('numberReader', () => {
  const read = (value: string | undefined, rule?: NumberRule): { exit?: number | undefined; n?: number } => {
    try {
      return { n: numberReader('bench:test', { requests: value })('requests', rule) };
    } catch (e) {
      if (e instanceof Exit) return { exit: e.code };
      throw e;
    }
  };

  it('returns the number a value spells', () => {
    expect(read('250')).toEqual({ n: 250 });
    expect(read('0.5')).toEqual({ n: 0.5 });
    expect(read('0')).toEqual({ n: 0 });
    expect(read('3', count)).toEqual({ n: 3 });
    expect(read('100', { integer: true, min: 100 })).toEqual({ n: 100 });
  });

  it('refuses what is not a number, with one line naming the option and exit 2', () => {
    for (const bad of ['abc', '', ' ', '1e999', 'NaN', '12ms', undefined]) {
      err = '';
      expect(read(bad)).toEqual({ exit: 2 });
      expect(err).toMatch(/^bench:test: --requests must be a number >= 0, got '.*' \(try --help\)\n$/);
    }
  });

  it('refuses a number below the rule\'s lowest, or a fraction where a whole number is asked', () => {
    expect(read('-1')).toEqual({ exit: 2 });
    expect(read('0', count)).toEqual({ exit: 2 });
    expect(err).toContain("--requests must be a whole number >= 1, got '0'");
    expect(read('2.5', count)).toEqual({ exit: 2 });
    expect(read('99', { integer: true, min: 100 })).toEqual({ exit: 2 });
  });
});
