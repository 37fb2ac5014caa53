import { describe, expect, it } from 'vitest';
import { everyWorkerContext } from './decision.js';
import { overlaps } from './methods/overlap.js';
import { routingRequest, seededRandom, workerDescriptor, workerLoad } from './router-test-support.js';
import { newRoutingState } from './routing-request.js';
import { tokenBlocks } from './token-blocks.js';
import { WorkerTable } from './worker-table.js';

const blockSize = 4;
const ids = Array.from({ length: 40 }, (_, i) => 1000 + i);
const textBlocks = Array.from({ length: 10 }, (_, i) => 700 + i);

function setup() {
  const table = new WorkerTable();
  for (const id of ['w0', 'w1', 'w2']) table.upsert(workerDescriptor(id), workerLoad(), 0);
  const state = newRoutingState(seededRandom(1));
  // Every engine has sent events (an empty cache), so every worker is matched on them.
  for (const id of ['w0', 'w1', 'w2']) {
    state.kv.forWorker(id, 'fn', 'm', blockSize).apply({ type: 'kv-events', workerId: id, model: 'm', blockSize, seq: 0, ts: 0, events: [{ type: 'cleared' }] });
  }
  const request = routingRequest({ promptTokens: ids.length, tokens: ids.length + 16, blocks: textBlocks, tokenBlocks: tokenBlocks(ids, blockSize), blockSize });
  const ctx = everyWorkerContext(table.fleet('fn'), request, state);
  return { table, state, ctx };
}

describe('router - prefix overlap', () => {
  it('counts a prompt already sent to a worker as held there before its engine\'s events say so', () => {
    const { table, state, ctx } = setup();
    // The router sent the prompt to w1 a moment ago; its engine has not finished the prefill, so no event yet.
    state.prefixes.insert('w1', textBlocks);
    const { shares, index } = overlaps(table.ofFunction('fn'), ctx);
    expect(index).toBe('kv-events');
    expect(Array.from(shares)).toEqual([0, 1, 0]);
  });

  it('takes the engine\'s events where they say more than the dispatches', () => {
    const { table, state, ctx } = setup();
    const events = state.kv.get('fn', 'm');
    events?.apply({ type: 'kv-events', workerId: 'w2', model: 'm', blockSize, seq: 1, ts: 0,
      events: [{ type: 'stored', blocks: Array.from({ length: 10 }, (_, b) => `e${b}`), tokens: ids }] });
    state.prefixes.insert('w2', textBlocks.slice(0, 5));
    const { shares } = overlaps(table.ofFunction('fn'), ctx);
    expect(Array.from(shares)).toEqual([0, 0, 1]);
  });
});
