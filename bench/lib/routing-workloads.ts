/**
 * The routing lab's workload shapes (bench/routing.ts). A workload is a list of scripts; a script
 * is one conversation: an optional system prompt and user turns played in order, each turn
 * resending the history with the answers so far (as chat clients do). Closed-loop workloads have a
 * fixed number of clients taking the next script; open-loop ones start each script at its time.
 * Sizes are in words, the simulator's tokens.
 */
import { seededRandom } from '../../src/actors/router/router-test-support.js';
import { blockWords, readMooncakeTrace, tracePrompt } from './mooncake-trace.js';

export interface Script {
  /** Open loop: when the script starts, ms after the workload does. */
  startAtMs?: number;
  system?: string;
  users: string[];
  maxTokens: number;
}

export interface Workload {
  shape: WorkloadShape;
  description: string;
  scripts: Script[];
  /** Closed loop: clients taking scripts; open loop (scripts have start times): undefined. */
  concurrency?: number;
  /** Engines: how many fast and how many slow (heterogeneous fleets). */
  slowEngines: number;
}

export const workloadShapes = ['shared-system-prompts', 'multi-turn', 'rag', 'bursty', 'mixed', 'heterogeneous', 'trace-replay'] as const;
export type WorkloadShape = (typeof workloadShapes)[number];

export interface ShapeOptions {
  /** Scales every shape's number of requests (1 = the defaults below). */
  scale: number;
  engines: number;
  /** trace-replay: the JSONL file, how many trace tokens make one word, and how much faster than recorded to replay. */
  trace: string;
  traceScale: number;
  speedup: number;
  seed: number;
  /** shared-system-prompts and heterogeneous: words in each system prompt (default 600). */
  prefixWords?: number;
}

const randomOf = (seed: number): (() => number) => seededRandom(seed);

/** `words` words of text unique to `tag` (the same tag, the same words). */
const text = (tag: number, words: number): string => blockWords(tag, words);
const shuffle = <T>(items: T[], random: () => number): T[] => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
};
const count = (n: number, scale: number): number => Math.max(1, Math.round(n * scale));

export function buildWorkload(shape: WorkloadShape, o: ShapeOptions): Workload {
  const random = randomOf(o.seed);
  switch (shape) {
    case 'shared-system-prompts':
    case 'heterogeneous': {
      // 12 long system prompts, 4 conversations each of 3 turns: the shape of the workload.
      const words = o.prefixWords ?? 600;
      const systems = Array.from({ length: 12 }, (_, s) => `You are assistant ${s}. ${text(s + 1, words)}`);
      const scripts = shuffle(Array.from({ length: count(48, o.scale) }, (_, c) => ({
        system: systems[c % systems.length] as string,
        users: [0, 1, 2].map((t) => `Conversation ${c} question ${t}: ${text(10_000 + c * 10 + t, 12)}`),
        maxTokens: 24,
      })), random);
      return shape === 'heterogeneous'
        ? { shape, description: `${scripts.length} conversations × 3 turns over 12 system prompts of ${words.toLocaleString('en-US')} words, 12 clients; half the engines 3× slower`, scripts, concurrency: 12, slowEngines: Math.floor(o.engines / 2) }
        : { shape, description: `${scripts.length} conversations × 3 turns over 12 system prompts of ${words.toLocaleString('en-US')} words, 12 clients`, scripts, concurrency: 12, slowEngines: 0 };
    }
    case 'multi-turn': {
      const scripts = Array.from({ length: count(32, o.scale) }, (_, c) => ({
        system: `You are a helpful assistant for user ${c}. ${text(20_000 + c, 40)}`,
        users: Array.from({ length: 6 }, (_, t) => `Turn ${t} of conversation ${c}: ${text(30_000 + c * 10 + t, 40)}`),
        maxTokens: 48,
      }));
      return { shape, description: `${scripts.length} conversations × 6 turns, each its own history (40-word turns, 48-token answers), 12 clients`, scripts, concurrency: 12, slowEngines: 0 };
    }
    case 'rag': {
      const system = `Answer from the document only. ${text(7, 30)}`;
      const scripts = Array.from({ length: count(64, o.scale) }, (_, r) => ({
        system,
        users: [`Document ${r}: ${text(40_000 + r, 1_200)}\nQuestion: what does document ${r} say?`],
        maxTokens: 32,
      }));
      return { shape, description: `${scripts.length} requests, each a unique 1,200-word document after a short shared instruction, 12 clients`, scripts, concurrency: 12, slowEngines: 0 };
    }
    case 'bursty': {
      const systems = Array.from({ length: 8 }, (_, s) => `You are agent ${s}. ${text(50 + s, 500)}`);
      const bursts = count(5, o.scale);
      const scripts: Script[] = [];
      for (let b = 0; b < bursts; b++) {
        for (let i = 0; i < 24; i++) {
          scripts.push({ startAtMs: b * 3_000 + Math.floor(random() * 100), system: systems[Math.floor(random() * systems.length)] as string,
            users: [`Burst ${b} request ${i}: ${text(60_000 + b * 100 + i, 15)}`], maxTokens: 24 });
        }
      }
      return { shape, description: `${bursts} bursts of 24 requests within 100 ms, 3 s apart, over 8 system prompts of 500 words (open loop)`, scripts, slowEngines: 0 };
    }
    case 'mixed': {
      const longs = Array.from({ length: 4 }, (_, s) => `Long context ${s}. ${text(70 + s, 1_500)}`);
      const scripts = shuffle(Array.from({ length: count(96, o.scale) }, (_, r) => r % 4 === 0
        ? { system: longs[(r / 4) % longs.length] as string, users: [`Long request ${r}: ${text(80_000 + r, 20)}`], maxTokens: 64 }
        : { users: [`Short request ${r}: ${text(90_000 + r, 20)}`], maxTokens: 16 }), random);
      return { shape, description: `${scripts.length} requests: 3 in 4 short and unique (20 words), 1 in 4 long (1,500 words over 4 shared contexts), 12 clients`, scripts, concurrency: 12, slowEngines: 0 };
    }
    case 'trace-replay': {
      const trace = readMooncakeTrace(o.trace);
      const keep = trace.slice(0, count(trace.length, o.scale));
      const t0 = keep[0]?.timestamp ?? 0;
      const scripts = keep.map((r) => ({ startAtMs: (r.timestamp - t0) / o.speedup, users: [tracePrompt(r, o.traceScale)], maxTokens: Math.max(1, Math.round(r.outputLength / 2)) }));
      return { shape, description: `${scripts.length} requests of ${o.trace} (Mooncake format, ${o.traceScale} trace tokens a word, ${o.speedup}× speed, output halved; open loop)`, scripts, slowEngines: 0 };
    }
  }
}
