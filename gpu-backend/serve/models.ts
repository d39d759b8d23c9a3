/**
 * What a backend has loaded: base models (one Decoder and one Scheduler each, weights loaded once) and
 * adapters (parsed, checked, float32), fetched from object storage by the prefixes the edge names and kept in
 * a local disk cache. Adapters are evicted least-recently-used beyond a bound; a base model stays loaded.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LoraAdapter } from '../formats/adapter.ts';
import { invalid } from '../formats/errors.ts';
import { readAdapterFolder, readModelFolder } from '../formats/files.ts';
import { TextTokenizer } from '../formats/tokenizer.ts';
import { Decoder } from '../engine/decoder.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { Scheduler } from './scheduler.ts';

export interface LoadedBase {
  id: string;
  dir: string;
  decoder: Decoder;
  scheduler: Scheduler;
  tokenizer: TextTokenizer | null;
  /** Token ids that end a generation (generation_config.json, else config.json). */
  eos: number[];
}

export interface ModelRef {
  id: string;
  storage_prefix: string;
}

export class ModelCache {
  private readonly bases = new Map<string, Promise<LoadedBase>>();
  private readonly adapters = new Map<string, Promise<LoraAdapter>>();

  constructor(
    private readonly store: ObjectStore,
    private readonly cacheDir: string,
    private readonly opts: { maxAdapters?: number; maxBatch?: number } = {},
  ) {}

  /** Adapter ids loaded now, most recently used last (reported in heartbeats). */
  get loadedAdapters(): string[] {
    return [...this.adapters.keys()];
  }

  /** Downloads every object under `prefix` into the disk cache (once) and returns the local folder. */
  private async fetchPrefix(prefix: string): Promise<string> {
    const dir = join(this.cacheDir, prefix.replace(/[^A-Za-z0-9._/-]/g, '_'));
    const keys = await this.store.list(prefix);
    if (keys.length === 0) invalid('model_files_missing', `no files under "${prefix}" in object storage.`);
    for (const key of keys) {
      const local = join(dir, key.slice(prefix.length));
      const known = await stat(local).then((s) => s.size, () => -1);
      const info = await this.store.head(key);
      if (info && known === info.size) continue;
      const bytes = await this.store.getBytes(key);
      if (bytes === null) continue;
      await mkdir(dirname(local), { recursive: true });
      await writeFile(local, bytes);
    }
    return dir;
  }

  base(ref: ModelRef): Promise<LoadedBase> {
    let loading = this.bases.get(ref.id);
    if (!loading) {
      loading = this.loadBase(ref);
      this.bases.set(ref.id, loading);
      loading.catch(() => this.bases.delete(ref.id));
    }
    return loading;
  }

  private async loadBase(ref: ModelRef): Promise<LoadedBase> {
    const dir = await this.fetchPrefix(ref.storage_prefix);
    const folder = await readModelFolder(dir);
    const decoder = await Decoder.fromFolder(folder);
    const tokenizer = await TextTokenizer.load(dir).catch(() => null);
    const generation = (await readJson(join(dir, 'generation_config.json'))) as { eos_token_id?: number | number[] } | null;
    const eos = generation?.eos_token_id ?? folder.config.eosTokenIds;
    return { id: ref.id, dir, decoder, scheduler: new Scheduler(decoder, this.opts.maxBatch ?? 32), tokenizer, eos: Array.isArray(eos) ? eos : [eos] };
  }

  async adapter(base: LoadedBase, ref: ModelRef): Promise<LoraAdapter> {
    const hit = this.adapters.get(ref.id);
    if (hit) {
      // Refresh its place in the LRU order.
      this.adapters.delete(ref.id);
      this.adapters.set(ref.id, hit);
      return hit;
    }
    const loading = this.fetchPrefix(ref.storage_prefix).then((dir) => readAdapterFolder(dir, base.decoder.cfg));
    this.adapters.set(ref.id, loading);
    loading.catch(() => this.adapters.delete(ref.id));
    const max = this.opts.maxAdapters ?? 64;
    while (this.adapters.size > max) this.adapters.delete(this.adapters.keys().next().value!);
    return loading;
  }
}

function readJson(path: string): Promise<unknown> {
  return readFile(path, 'utf8').then(JSON.parse, () => null);
}
