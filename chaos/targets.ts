/**
 * What each class must achieve (docs/reliability.md). Every class: no stream hung, none silently
 * truncated, none with wrong or duplicated text. A connection broken without an error event counts
 * as a silent truncation except when the gateway itself is killed (then nothing else can end it).
 * Some classes promise more; see `extra`.
 */
import type { TrialResult } from './trial.js';

export interface TargetCheck {
  className: string;
  target: string;
  ok: boolean;
  /** The offending streams (trial seed and stream), when not ok. */
  detail: string;
}

type Stream = TrialResult['streams'][number];
type Check = { target: string; bad: (s: Stream, t: TrialResult) => boolean } | { target: string; badTrial: (t: TrialResult) => boolean };

const natsDeadlineMs = 5000;
const orphanLimitMs = 3000;

const completes: Check = { target: 'every stream completes with the exact text', bad: (s) => s.outcome !== 'completed' && s.outcome !== 'client-aborted' };

const extra: Record<string, Check[]> = {
  'worker-kill': [{ ...completes, target: 'every stream completes through the fault with the exact text' }],
  'engine-kill': [{ ...completes, target: 'every stream completes through the fault with the exact text' }],
  'router-kill': [completes],
  'router-stop': [completes],
  'limiter-kill': [completes],
  'limiter-stop': [completes],
  'gateway-kill': [{ target: `engines idle within ${orphanLimitMs / 1000} s of the kill`, badTrial: (t) => t.engineIdleMs === null || t.engineIdleMs > orphanLimitMs }],
  'nats-restart': [{
    target: `every stream completes, or ends with an explicit error within ${natsDeadlineMs / 1000} s of the fault`,
    bad: (s) => !(s.outcome === 'completed' || (s.outcome === 'explicit' && s.endedAfterFaultMs <= natsDeadlineMs)),
  }],
};

function common(className: string): Check[] {
  const brokenIsSilent = className !== 'gateway-kill';
  return [
    { target: 'no stream hung', bad: (s) => s.outcome === 'hung' },
    { target: `no silent truncation${brokenIsSilent ? ' (a broken connection counts)' : ''}`, bad: (s) => s.outcome === 'silent' || (brokenIsSilent && s.outcome === 'broken') },
    { target: 'no wrong or duplicated text', bad: (s) => s.outcome === 'wrong' },
  ];
}

/** The targets of a class, in words (a test's name). */
export function targetsOf(className: string): string[] {
  return [...common(className), ...(extra[className] ?? [])].map((c) => c.target);
}

export function checkTargets(className: string, trials: readonly TrialResult[]): TargetCheck[] {
  return [...common(className), ...(extra[className] ?? [])].map((check) => {
    const offenders = 'bad' in check
      ? trials.flatMap((t) => t.streams.filter((s) => check.bad(s, t)).map((s) => `${t.seed}/stream ${s.index} ${s.outcome} (${s.why})`))
      : trials.filter((t) => check.badTrial(t)).map((t) => `${t.seed} engines idle after ${t.engineIdleMs ?? 'never'} ms`);
    const shown = offenders.slice(0, 5).join('; ') + (offenders.length > 5 ? `; and ${offenders.length - 5} more` : '');
    return { className, target: check.target, ok: offenders.length === 0, detail: shown };
  });
}
