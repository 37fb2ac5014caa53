/**
 * Tokens and requests served over the last minute, in six 10-second buckets (so "the last minute" is
 * the current bucket and the five before it: 50 to 60 s): what usage-based routing compares,
 * reported on every heartbeat.
 */
const bucketMs = 10_000;
const buckets = 6;

export class UsageWindow {
  readonly #tokens = new Array<number>(buckets).fill(0);
  readonly #requests = new Array<number>(buckets).fill(0);
  /** The absolute bucket number each slot currently holds. */
  readonly #slotOf = new Array<number>(buckets).fill(-1);

  add(tokens: number, now: number): void {
    const slot = this.#slot(now);
    this.#tokens[slot] = (this.#tokens[slot] as number) + tokens;
    this.#requests[slot] = (this.#requests[slot] as number) + 1;
  }

  perMinute(now: number): { tokensPerMinute: number; requestsPerMinute: number } {
    const current = Math.floor(now / bucketMs);
    let tokensPerMinute = 0;
    let requestsPerMinute = 0;
    for (let i = 0; i < buckets; i++) {
      if (current - (this.#slotOf[i] as number) < buckets) {
        tokensPerMinute += this.#tokens[i] as number;
        requestsPerMinute += this.#requests[i] as number;
      }
    }
    return { tokensPerMinute, requestsPerMinute };
  }

  #slot(now: number): number {
    const bucket = Math.floor(now / bucketMs);
    const slot = bucket % buckets;
    if (this.#slotOf[slot] !== bucket) {
      this.#slotOf[slot] = bucket;
      this.#tokens[slot] = 0;
      this.#requests[slot] = 0;
    }
    return slot;
  }
}
