/**
 * Rate-limit syntax, LiteLLM-style: comma-separated `<amount>-<unit>` items, unit S, M, H or D
 * (second, minute, hour, day), e.g. `1000-S,50000-M`. In a token limit an item may name what it
 * counts: `prompt:40000-M` or `completion:10000-M`; plain items count prompt + completion.
 */
import { z } from 'zod';

export type LimitKind = 'requests' | 'tokens' | 'prompt' | 'completion';

export interface LimitRule {
  kind: LimitKind;
  amount: number;
  windowMs: number;
  /** As written, for headers and messages: `50000-M`. */
  text: string;
}

const units: Record<string, number> = { S: 1_000, M: 60_000, H: 3_600_000, D: 86_400_000 };
const item = /^(?:(prompt|completion|total):)?(\d{1,12})-([SMHD])$/i;

/** Parses a spec; throws an Error naming the bad item. */
export function parseLimitSpec(spec: string, counts: 'tokens' | 'requests'): LimitRule[] {
  return spec.split(',').map((raw) => {
    const text = raw.trim();
    const m = item.exec(text);
    if (!m) throw new Error(`'${text}' is not a limit: write <amount>-<S|M|H|D>, e.g. 1000-S or 50000-M${counts === 'tokens' ? ', optionally prefixed prompt: or completion:' : ''}`);
    const [, which, amount, unit] = m;
    if (counts === 'requests' && which) throw new Error(`'${text}': a request limit counts requests; prompt:/completion: apply to token limits`);
    const kind: LimitKind = counts === 'requests' ? 'requests' : which && which.toLowerCase() !== 'total' ? (which.toLowerCase() as LimitKind) : 'tokens';
    const n = Number(amount);
    if (n < 1) throw new Error(`'${text}': the amount must be at least 1`);
    return { kind, amount: n, windowMs: units[(unit as string).toUpperCase()] as number, text: `${n}-${(unit as string).toUpperCase()}` };
  });
}

function valid(spec: string, counts: 'tokens' | 'requests'): boolean {
  try {
    parseLimitSpec(spec, counts);
    return true;
  } catch {
    return false;
  }
}

/** A limit spec in a config record (either kind; the parse at use tells tokens from requests). */
export const limitSpecSchema = z.string().max(200).refine((s) => valid(s, 'tokens'), {
  message: 'must be comma-separated <amount>-<S|M|H|D> items, e.g. 1000-S,50000-M (token limits may prefix prompt: or completion:)',
});

/** A request-limit spec: plain items only. */
export const requestLimitSpecSchema = z.string().max(200).refine((s) => valid(s, 'requests'), {
  message: 'must be comma-separated <amount>-<S|M|H|D> items, e.g. 10-S,500-M',
});
