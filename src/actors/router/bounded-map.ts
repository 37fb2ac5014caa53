/** A Map that keeps at most `capacity` entries, forgetting the oldest-inserted first. */
export class BoundedMap<K, V> {
  readonly #map = new Map<K, V>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    // Map iterates in insertion order: the first key is the oldest.
    if (this.#map.size > this.capacity) this.#map.delete(this.#map.keys().next().value as K);
  }
}
