// A bounded cache that keeps recently used entries: two generations of Maps ("hashlru").
// New and refreshed entries go into the current generation; when it is full it becomes the old
// one and the previous old generation is dropped whole. A hit in the current generation is one
// Map lookup — unlike a strict LRU on a Map, which deletes and re-inserts the key on every read:
// on the send path that was ~20 µs per message (a dozen reads, each rehashing the key twice and
// leaving holes that make V8 compact the table).
//
// The bound is `capacity` entries (each generation holds half). What gets dropped is the set of
// entries not touched during the last one to two generations: close to LRU, not exactly it.
export class LruCache<K, V> {
  private current = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly generationSize: number;

  constructor(capacity: number) {
    this.generationSize = Math.max(1, Math.ceil(capacity / 2));
  }

  get(key: K): V | undefined {
    const value = this.current.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) {
      // Promote, so entries in use survive the next rotation.
      this.old.delete(key);
      this.insert(key, aged);
    }
    return aged;
  }

  set(key: K, value: V): void {
    if (this.current.has(key)) {
      this.current.set(key, value);
      return;
    }
    this.old.delete(key);
    this.insert(key, value);
  }

  delete(key: K): void {
    this.current.delete(key);
    this.old.delete(key);
  }

  /** Drops every entry whose value matches (e.g. all cached tokens of one device). */
  deleteWhere(predicate: (value: V, key: K) => boolean): void {
    for (const map of [this.current, this.old]) for (const [k, v] of map) if (predicate(v, k)) map.delete(k);
  }

  clear(): void {
    this.current.clear();
    this.old.clear();
  }

  get size(): number {
    return this.current.size + this.old.size;
  }

  private insert(key: K, value: V): void {
    this.current.set(key, value);
    if (this.current.size >= this.generationSize) {
      this.old = this.current;
      this.current = new Map();
    }
  }
}
