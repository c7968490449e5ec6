// A size-capped map that forgets the least recently used entry first. Invariant: size() <= cap.
export class Lru<K, V> {
  readonly #cap: number;
  readonly #map = new Map<K, V>();
  evictions = 0;

  constructor(cap: number) {
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`LRU capacity must be a positive integer, got ${cap}`);
    this.#cap = cap;
  }

  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) { this.#map.delete(key); this.#map.set(key, v); }
    return v;
  }

  peek(key: K): V | undefined { return this.#map.get(key); }

  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#cap) {
      const oldest = this.#map.keys().next().value as K;
      this.#map.delete(oldest);
      this.evictions++;
    }
  }

  delete(key: K): boolean { return this.#map.delete(key); }
  clear(): void { this.#map.clear(); }
  get size(): number { return this.#map.size; }
  entries(): IterableIterator<[K, V]> { return this.#map.entries(); }
}
