import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { pausedFlow } from './held-request.js';

describe('pausedFlow', () => {
  it('leaves no abort listener behind after a resume, however often a client pauses and resumes', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 1_000; i++) {
      const pause = pausedFlow(controller.signal);
      pause.resume();
      await pause.done;
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('ends when the request is aborted while paused', async () => {
    const controller = new AbortController();
    const pause = pausedFlow(controller.signal);
    controller.abort('cancel');
    await expect(pause.done).resolves.toBeUndefined();
  });
});
