/**
 * What a backend has loaded: base models (one Decoder and one Scheduler each, weights loaded once) and
 * adapters (parsed, checked, float32), fetched from object storage by the prefixes the edge names and kept in
 * a local disk cache. Adapters are evicted least-recently-used beyond a bound; a base model stays loaded.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { readAdapterFolder, readModelFolder } from '../formats/files.ts';
import { TextTokenizer } from '../formats/tokenizer.ts';
import { Decoder } from '../engine/decoder.ts';
import { ADAPTER_FILES, MODEL_FILES, type FolderCache } from '../storage/folder-cache.ts';
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
    private readonly folders: FolderCache,
    private readonly opts: { maxAdapters?: number; maxBatch?: number } = {},
  ) {}

  /** Adapter ids loaded now, most recently used last (reported in heartbeats). */
  get loadedAdapters(): string[] {
    return [...this.adapters.keys()];
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
    const dir = await this.folders.fetch(ref.storage_prefix, MODEL_FILES);
    const folder = await readModelFolder(dir);
    const decoder = await Decoder.fromFolder(folder);
    const tokenizer = await TextTokenizer.load(dir).catch(() => null);
    const generation = (await readJson(join(dir, 'generation_config.json'))) as { eos_token_id?: number | number[] } | null;
    const eos = generation?.eos_token_id ?? folder.config.eosTokenIds;
    return {
      id: ref.id,
      dir,
      decoder,
      scheduler: new Scheduler(decoder, this.opts.maxBatch ?? 32),
      tokenizer,
      eos: Array.isArray(eos) ? eos : [eos],
    };
  }

  async adapter(base: LoadedBase, ref: ModelRef): Promise<LoraAdapter> {
    const hit = this.adapters.get(ref.id);
    if (hit) {
      // Refresh its place in the LRU order.
      this.adapters.delete(ref.id);
      this.adapters.set(ref.id, hit);
      return hit;
    }
    const loading = this.folders.fetch(ref.storage_prefix, ADAPTER_FILES).then((dir) => readAdapterFolder(dir, base.decoder.cfg));
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
