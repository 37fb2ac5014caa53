/**
 * Token counting throughput: inline (on the calling thread) against the piscina pool with 1 and 2
 * threads, for short (~100 chars) and long (~8 KB) prompts, with an OpenAI encoding (cl100k) and a
 * Hugging Face tokenizer.json (llama3). Prompts arrive as a gateway under load would see them: in
 * waves of `--wave` concurrent requests, each prompt distinct so no cache flatters a mode. Modes run
 * in alternating order over `--rounds` rounds; the median round is reported. Prints a table (tokens/s,
 * µs per prompt, pool/inline ratio) on stdout, progress on stderr, JSON in bench/results/.
 *
 *   npm run bench:tokenize [-- --prompts 4000 --wave 256 --rounds 3]
 */
import { encoderFor } from '../src/tokenize/encoders.js';
import { createTokenCounter, type TokenCounter } from '../src/tokenize/token-counter.js';
import { badArgument, benchArgs, count, numberReader } from './lib/cli-args.js';
import { alternatingOrder } from './lib/load.js';
import { fmt, fmtRatio, formatTable, machineInfo, progress, writeResults } from './lib/report.js';
import { median } from './lib/stats.js';

const { values } = benchArgs('bench:tokenize', 'Token counting throughput: inline (on the calling thread) against the piscina '
  + 'pool with 1 and 2 threads, for short (~100 chars) and long (~8 KB) prompts, with cl100k and a Hugging Face tokenizer.json '
  + '(llama3); modes alternate over the rounds and the median round is reported. Table on stdout, progress on stderr, JSON in bench/results/.', {
  prompts: { type: 'string', default: '4000', help: 'short prompts per mode and round, a multiple of 10 (a tenth as many long ones), each distinct' },
  wave: { type: 'string', default: '256', help: 'prompts counted concurrently, as a gateway under load sees them' },
  rounds: { type: 'string', default: '3', help: 'rounds, each running every mode in alternating order' },
});
const num = numberReader('bench:tokenize', values);
const promptCount = num('prompts', { integer: true, min: 10 });
if (promptCount % 10 !== 0) badArgument('bench:tokenize', `--prompts must be a multiple of 10 (a tenth as many long prompts), got ${promptCount}`);
const wave = num('wave', count);
const rounds = num('rounds', count);

const sentence = 'The router picks a worker whose prefix cache already holds most of this prompt; ';
/** Distinct prompts of about `chars` characters. */
function prompts(chars: number, count: number): string[] {
  const body = sentence.repeat(Math.ceil(chars / sentence.length)).slice(0, chars - 12);
  return Array.from({ length: count }, (_, i) => `#${i} ${body}`);
}

type Mode = 'inline' | 'pool, 1 thread' | 'pool, 2 threads';
interface Measure {
  tokens: number;
  seconds: number;
}

async function runInline(tokenizer: string, texts: string[]): Promise<Measure> {
  const encoder = encoderFor(tokenizer);
  const started = performance.now();
  let tokens = 0;
  for (let i = 0; i < texts.length; i += wave) {
    for (const t of texts.slice(i, i + wave)) tokens += encoder.countText(t);
    await new Promise((r) => setImmediate(r)); // a gateway yields between waves of requests
  }
  return { tokens, seconds: (performance.now() - started) / 1000 };
}

async function runPool(counter: TokenCounter, tokenizer: string, texts: string[]): Promise<Measure> {
  const started = performance.now();
  let tokens = 0;
  for (let i = 0; i < texts.length; i += wave) {
    const counts = await Promise.all(texts.slice(i, i + wave).map((t) => counter.countText(tokenizer, t)));
    for (const n of counts) tokens += n;
  }
  return { tokens, seconds: (performance.now() - started) / 1000 };
}

async function main(): Promise<void> {
  progress(`bench:tokenize — ${promptCount} short / ${promptCount / 10} long prompts per mode, waves of ${wave}, ${rounds} rounds`);
  const pools = {
    'pool, 1 thread': createTokenCounter({ threads: 1, inlineMaxChars: 0 }),
    'pool, 2 threads': createTokenCounter({ threads: 2, inlineMaxChars: 0 }),
  };
  const modes: Mode[] = ['inline', 'pool, 1 thread', 'pool, 2 threads'];
  const rows: string[][] = [];
  const results: Record<string, unknown>[] = [];
  try {
    for (const tokenizer of ['cl100k', 'llama3']) {
      progress(`[${tokenizer}] loading the vocabulary on this thread and on every pool thread ...`);
      encoderFor(tokenizer);
      for (const counter of Object.values(pools)) await Promise.all(Array.from({ length: 8 }, () => counter.countText(tokenizer, 'warm up')));
      for (const [size, chars, count] of [['short', 100, promptCount], ['long', 8192, promptCount / 10]] as const) {
        const texts = prompts(chars, count);
        const perMode = new Map<Mode, Measure[]>(modes.map((m) => [m, []]));
        for (let round = 0; round < rounds; round++) {
          for (const mode of alternatingOrder(modes, round)) {
            const m = mode === 'inline' ? await runInline(tokenizer, texts) : await runPool(pools[mode], tokenizer, texts);
            perMode.get(mode)!.push(m);
            progress(`[${tokenizer} ${size}] round ${round + 1}/${rounds} ${mode}: ${fmt(m.tokens / m.seconds)} tokens/s`);
          }
        }
        const rate = (mode: Mode): number => median(perMode.get(mode)!.map((m) => m.tokens / m.seconds));
        const usPerPrompt = (mode: Mode): number => median(perMode.get(mode)!.map((m) => (m.seconds * 1e6) / count));
        const inlineRate = rate('inline');
        for (const mode of modes) {
          rows.push([tokenizer, `${size} (~${fmt(chars)} chars)`, mode, fmt(rate(mode)), fmt(usPerPrompt(mode), 1), fmtRatio(rate(mode) / inlineRate)]);
          results.push({ tokenizer, size, chars, prompts: count, mode, tokensPerSecond: rate(mode), usPerPrompt: usPerPrompt(mode), vsInline: rate(mode) / inlineRate });
        }
      }
    }
  } finally {
    for (const counter of Object.values(pools)) await counter.close();
  }
  process.stdout.write(`\n${formatTable(['tokenizer', 'prompt', 'mode', 'tokens/s', 'µs/prompt', 'vs inline'], rows)}\n\n`);
  const file = writeResults('tokenize', { ...machineInfo(), promptCount, wave, rounds, results });
  progress(`wrote ${file}`);
}

main().catch((error: unknown) => {
  progress(`bench:tokenize failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
