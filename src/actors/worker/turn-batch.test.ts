// TurnBatch alone: work put off to the end of the event-loop turn, once per key.
import { describe, expect, it } from 'vitest';
import { TurnBatch } from './turn-batch.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('turn batch - once per key, at the end of the turn', () => {
  it('flushes each key due in a turn once, in the order they first fell due, after the turn\'s microtasks', async () => {
    const flushed: string[] = [];
    const batch = new TurnBatch<string>((key) => flushed.push(key));
    batch.due('a');
    batch.due('b');
    batch.due('a');
    await Promise.resolve();
    batch.due('c');
    expect(flushed).toEqual([]);
    await nextTurn();
    expect(flushed).toEqual(['a', 'b', 'c']);
  });

  it('starts a new batch for keys that fall due while or after one is flushed', async () => {
    const flushed: string[] = [];
    const batch: TurnBatch<string> = new TurnBatch<string>((key) => {
      flushed.push(key);
      if (key === 'a') batch.due('again');
    });
    batch.due('a');
    await nextTurn();
    expect(flushed).toEqual(['a']);
    await nextTurn();
    expect(flushed).toEqual(['a', 'again']);
  });
});
