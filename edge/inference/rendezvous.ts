/**
 * Rendezvous (highest-random-weight) hashing: each backend scores each key; a key goes to its top scorer.
 * A key keeps its backend while that backend stays, and only keys of a backend that leaves move, so every
 * adapter stays warm on few backends without any shared routing table.
 */

/** FNV-1a over UTF-16 code units, then murmur3's finalizer so similar strings get unrelated scores. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Backends in the order a key should try them: best score first (ties broken by id, so the order is total). */
export function rendezvousOrder<T extends { id: string }>(key: string, backends: T[]): T[] {
  return backends
    .map((b) => ({ b, score: hash32(`${key}\u0000${b.id}`) }))
    .sort((x, y) => y.score - x.score || (x.b.id < y.b.id ? -1 : 1))
    .map((x) => x.b);
}
