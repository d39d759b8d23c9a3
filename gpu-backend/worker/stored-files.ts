/** Sets of files (a checkpoint, a trained adapter) kept in object storage as the objects under one prefix. */
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import type { Files } from '../train/trainer.ts';

export async function putFiles(store: ObjectStore, prefix: string, files: Files): Promise<void> {
  for (const [name, bytes] of files) await store.put(prefix + name, bytes, { contentLength: bytes.byteLength });
}

/** The objects directly under `prefix`, by name (empty when there are none). */
export async function getFiles(store: ObjectStore, prefix: string): Promise<Files> {
  const files: Files = new Map();
  for (const key of await store.list(prefix)) {
    const name = key.slice(prefix.length);
    if (name.includes('/')) continue;
    const bytes = await store.getBytes(key);
    if (bytes) files.set(name, bytes);
  }
  return files;
}
