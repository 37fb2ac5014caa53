import { describe, expect, it } from 'vitest';
import { BlockHolders } from './block-holders.js';

const every = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

describe('BlockHolders', () => {
  it('a walk over the same fleet array sees a worker numbered after the last walk', () => {
    const store = new BlockHolders();
    const fleet = ['a', 'b', 'c'];
    store.add(1, 'a');
    store.add(2, 'a');
    expect(Array.from(store.walk([1, 2], fleet, every(3), 3))).toEqual([2, 0, 0]);
    store.add(1, 'c');
    expect(Array.from(store.walk([1, 2], fleet, every(3), 3))).toEqual([2, 0, 1]);
  });

  it('a released number given to another worker does not carry the first one\'s blocks, nor its place in a fleet', () => {
    const store = new BlockHolders();
    const fleet = ['a', 'b'];
    store.add(1, 'a');
    expect(Array.from(store.walk([1], fleet, every(2), 2))).toEqual([1, 0]);
    store.delete(1, 'a');
    store.release('a');
    store.add(1, 'b');
    expect(Array.from(store.walk([1], fleet, every(2), 2))).toEqual([0, 1]);
    expect(store.has(1, 'a')).toBe(false);
  });

  it('keeps a worker that still holds blocks numbered when asked to release it', () => {
    const store = new BlockHolders();
    store.add(1, 'a');
    store.release('a');
    store.add(2, 'b');
    expect(store.leading([1], ['a', 'b'])).toEqual([1, 0]);
  });

  it('counts holders across words of the bitset, down to one and back', () => {
    const store = new BlockHolders();
    const fleet = Array.from({ length: 100 }, (_, i) => `w${i}`);
    for (const id of fleet) store.add(7, id);
    for (const id of fleet.slice(0, 99)) store.delete(7, id);
    expect(store.size).toBe(1);
    expect(store.leading([7], ['w99', 'w0'])).toEqual([1, 0]);
    store.delete(7, 'w99');
    expect(store.size).toBe(0);
  });
});
