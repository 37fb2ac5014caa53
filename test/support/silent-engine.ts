/** An engine adapter that says nothing until released or aborted: a long prefill, for every request. */
import type { EngineAdapter } from '../../src/engine-adapters/adapter.js';

/** `onHold` gets each request's release as the request starts. */
export function silentEngine(onHold: (release: () => void) => void): EngineAdapter {
  return {
    kind: 'silent',
    async *stream(_request, signal) {
      await new Promise<void>((resolve) => {
        onHold(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
    health: async () => true,
    load: async () => undefined,
    close: async () => undefined,
  };
}
