/**
 * One limit over a sliding window, kept as a log of admissions: the usage at time t is the sum of
 * the amounts admitted in (t − window, t]. Exact for any window position (a fixed-window counter
 * lets through twice the limit across a boundary, a token bucket a full extra burst), and it answers
 * exactly when enough quota returns: when the oldest admissions leave the window.
 */
interface Admission {
  id: string;
  at: number;
  amount: number;
}

export class SlidingLog {
  #entries: Admission[] = [];
  #head = 0;
  #total = 0;

  constructor(readonly limit: number, readonly windowMs: number) {}

  used(now: number): number {
    this.#expire(now);
    return this.#total;
  }

  remaining(now: number): number {
    return Math.max(0, this.limit - this.used(now));
  }

  /** Milliseconds until `amount` fits (0 when it fits now; Infinity when it never can). */
  waitFor(amount: number, now: number): number {
    if (amount > this.limit) return Infinity;
    let excess = this.used(now) + amount - this.limit;
    if (excess <= 0) return 0;
    for (let i = this.#head; i < this.#entries.length; i++) {
      const e = this.#entries[i] as Admission;
      excess -= e.amount;
      if (excess <= 0) return e.at + this.windowMs - now;
    }
    return this.windowMs;
  }

  /** Milliseconds until the log is empty: everything admitted so far has left the window. */
  resetMs(now: number): number {
    this.#expire(now);
    const last = this.#entries[this.#entries.length - 1];
    return last && this.#entries.length > this.#head ? last.at + this.windowMs - now : 0;
  }

  add(id: string, amount: number, now: number): void {
    this.#entries.push({ id, at: now, amount });
    this.#total += amount;
  }

  /** Sets an admission's amount to what was really used (a refund when lower). False when it has left the window. */
  settle(id: string, amount: number): boolean {
    for (let i = this.#entries.length - 1; i >= this.#head; i--) {
      const e = this.#entries[i] as Admission;
      if (e.id !== id) continue;
      this.#total += amount - e.amount;
      e.amount = amount;
      return true;
    }
    return false;
  }

  get empty(): boolean {
    return this.#entries.length === this.#head;
  }

  #expire(now: number): void {
    const cutoff = now - this.windowMs;
    while (this.#head < this.#entries.length && (this.#entries[this.#head] as Admission).at <= cutoff) {
      this.#total -= (this.#entries[this.#head] as Admission).amount;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
