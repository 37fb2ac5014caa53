/**
 * The W3C `traceparent` header, version 00: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`,
 * lowercase, with neither id all zeros. One check for the gateway (keep a client's), the spans (a
 * remote parent) and the exemplars (its trace id), by character codes: it runs several times a
 * request with tracing on, where a regex match allocated an array and four strings each time.
 */

/** Lowercase hex digits' values, -1 for every other code below 128. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = 10 + i;

const DASH = 45;
const ZERO = 48;

/** Whether `s[from, to)` is lowercase hex with at least one digit not 0. */
function nonZeroHex(s: string, from: number, to: number): boolean {
  let nonZero = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || (HEX[c] as number) < 0) return false;
    if (c !== ZERO) nonZero = true;
  }
  return nonZero;
}

/** Whether `s` is a valid trace id: 32 lowercase hex digits, not all zeros. */
export const validTraceId = (s: string): boolean => s.length === 32 && nonZeroHex(s, 0, 32);

/** Whether `s` is a valid version-00 `traceparent`. */
export function validTraceparent(s: string | undefined): s is string {
  return s !== undefined && s.length === 55 && s.charCodeAt(0) === ZERO && s.charCodeAt(1) === ZERO && s.charCodeAt(2) === DASH
    && s.charCodeAt(35) === DASH && s.charCodeAt(52) === DASH && nonZeroHex(s, 3, 35) && nonZeroHex(s, 36, 52)
    && (HEX[s.charCodeAt(53)] ?? -1) >= 0 && (HEX[s.charCodeAt(54)] ?? -1) >= 0;
}

/** A valid `traceparent`'s trace id, span id and flags (call validTraceparent first). */
export const traceIdOf = (traceparent: string): string => traceparent.slice(3, 35);
export const spanIdOf = (traceparent: string): string => traceparent.slice(36, 52);
export const traceFlagsOf = (traceparent: string): number => ((HEX[traceparent.charCodeAt(53)] as number) << 4) | (HEX[traceparent.charCodeAt(54)] as number);
