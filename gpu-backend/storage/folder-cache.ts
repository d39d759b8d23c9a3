/**
 * Local copies of folders kept in object storage (base models, adapters, training checkpoints), so that the
 * readers of model files (formats/files.ts, the tokenizer) work on plain directories. A folder is the objects
 * directly under a prefix; deeper keys (an adapter's `upload/` staging copies, a job's checkpoints) are not
 * part of it. Files already here as stored (same size and ETag) are not fetched again, so restarts reuse the disk copy.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { invalid } from '../../contracts/formats/errors.ts';
import type { ObjectInfo, ObjectStore } from '../../contracts/storage/object-store.ts';
import { fetchCheckpointParts } from './checkpoint-parts.ts';

/** Which files of a folder to fetch (by file name). */
export type FileFilter = (name: string) => boolean;

/** What a model folder needs: configs, tokenizer files and safetensors weights (not .bin or .gguf copies). */
export const MODEL_FILES: FileFilter = (name) => name.endsWith('.json') || name.endsWith('.safetensors');

export const ADAPTER_FILES: FileFilter = (name) => name === 'adapter_config.json' || name === 'adapter_model.safetensors';

export class FolderCache {
  /** Downloads in progress, so concurrent requests for one folder share a single download. */
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(
    private readonly store: ObjectStore,
    readonly root: string,
  ) {}

  /** The local folder mirroring `prefix` (which ends in "/"), fetched when needed. A prefix is always fetched with the same filter. */
  fetch(prefix: string, wanted: FileFilter): Promise<string> {
    let pending = this.inFlight.get(prefix);
    if (!pending) {
      pending = this.download(prefix, wanted).finally(() => this.inFlight.delete(prefix));
      this.inFlight.set(prefix, pending);
    }
    return pending;
  }

  /**
   * A model folder with only the checkpoint tensors `wanted` picks (checkpoint-parts.ts), for a base whose other
   * weights come from elsewhere (stored packed weights); the whole folder when a complete copy is already here.
   * Fetched again when an object under `prefix` changed since.
   */
  fetchParts(prefix: string, wanted: (tensor: string) => boolean): Promise<string> {
    const key = `parts:${prefix}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.downloadParts(prefix, wanted).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async downloadParts(prefix: string, wanted: (tensor: string) => boolean): Promise<string> {
    const full = this.dirOf(prefix);
    const names = await this.names(prefix, MODEL_FILES);
    const infos = await Promise.all(names.map(async (name) => [name, await this.store.head(prefix + name)] as const));
    const stale = await Promise.all(infos.map(([name, info]) => info !== null && this.isStale(full, name, info)));
    if (!stale.some(Boolean)) return full;
    const dir = join(this.root, '.parts', this.dirOf(prefix).slice(this.root.length));
    // The objects the parts were cut from, by ETag (or size): the same list means the same parts.
    const source = JSON.stringify(infos.map(([name, info]) => [name, info?.etag ?? info?.size ?? null]));
    const marker = join(dir, '.source.json');
    if ((await readFile(marker, 'utf8').catch(() => null)) === source) return dir;
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await fetchCheckpointParts(this.store, prefix, names, dir, wanted);
    await writeFile(marker, source);
    return dir;
  }

  private dirOf(prefix: string): string {
    return join(this.root, prefix.replace(/[^A-Za-z0-9._/-]/g, '_').replace(/\.\.+/g, '_'));
  }

  private async names(prefix: string, wanted: FileFilter): Promise<string[]> {
    const names = (await this.store.list(prefix))
      .map((key) => key.slice(prefix.length))
      .filter((name) => name.length > 0 && !name.includes('/') && wanted(name));
    if (names.length === 0)
      invalid(
        'model_files_missing',
        `object storage has no model files under "${prefix}"; upload them there (or register the model again).`,
      );
    return names;
  }

  /** Whether the local copy of `name` in `dir` differs from the object `info` describes (or is missing). */
  private async isStale(dir: string, name: string, info: ObjectInfo): Promise<boolean> {
    // The ETag the copy was fetched with tells a replaced object of the same size from the one we have.
    const have = await stat(join(dir, name)).then(
      (s) => s.size,
      () => -1,
    );
    const hadTag = await readFile(join(dir, `.${name}.etag`), 'utf8').catch(() => null);
    return !(have === info.size && (info.etag === null || hadTag === info.etag));
  }

  private async download(prefix: string, wanted: FileFilter): Promise<string> {
    const dir = this.dirOf(prefix);
    const names = await this.names(prefix, wanted);
    await mkdir(dir, { recursive: true });
    for (const name of names) {
      const local = join(dir, name);
      const info = await this.store.head(prefix + name);
      if (!info) continue;
      const tag = join(dir, `.${name}.etag`);
      if (!(await this.isStale(dir, name, info))) continue;
      // Streamed to disk, not read whole: a checkpoint shard or a packed artifact is gigabytes, and a buffer that
      // size would stay in the backend's RSS until the next collection.
      const object = await this.store.getStream(prefix + name);
      if (object === null) continue;
      // Written aside and renamed, so a reader never sees half a file (another process may share the cache).
      const part = `${local}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
      try {
        await pipeline(Readable.fromWeb(object.body as NodeReadableStream<Uint8Array>), createWriteStream(part));
        await rename(part, local);
      } catch (err) {
        await rm(part, { force: true });
        throw err;
      }
      if (info.etag !== null) await writeFile(tag, info.etag);
    }
    return dir;
  }
}
