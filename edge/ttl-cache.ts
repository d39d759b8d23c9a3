/**
 * A small cache in the Worker isolate's memory, for what every inference request reads and rarely changes: the
 * API key's tenant, what a `model` string resolves to, and the backends that are up. Each D1 query is a round
 * trip, and four of them per request were most of the edge's time under load. An entry lives `ttlMs` at most, so
 * a change made through another isolate shows within that; changes made through this isolate delete the
 * entries they affect at once. Bounded in entries, oldest first. Written by hand: it is a Map with a clock,
 * and LRU libraries bring timers that Workers do not let outlive a request.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.expires <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  set(key: string, value: V): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The cached value, or the loaded one, cached (a load that throws caches nothing). */
  async getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const value = await load();
    this.set(key, value);
    return value;
  }

  /** Deletes entries whose key starts with `prefix` (all of them for ''). */
  deleteWhere(prefix: string): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
