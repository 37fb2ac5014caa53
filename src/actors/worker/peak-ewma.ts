/**
 * Peak-EWMA (Finagle, Linkerd): an average of latency samples that jumps to any sample above it at
 * once and decays towards lower ones with time constant `tauMs`. A worker that turns slow is seen as
 * slow from its first slow answer; one that recovers is trusted again gradually.
 */
export class PeakEwma {
  #value: number | undefined;
  #at = 0;

  constructor(readonly tauMs = 10_000) {}

  observe(sample: number, now: number): void {
    if (this.#value === undefined || sample > this.#value) {
      this.#value = sample;
    } else {
      const w = Math.exp(-Math.max(0, now - this.#at) / this.tauMs);
      this.#value = this.#value * w + sample * (1 - w);
    }
    this.#at = now;
  }

  get value(): number | undefined {
    return this.#value;
  }
}
