/**
 * What a backend has loaded: base models (one Decoder and one Scheduler each, weights loaded once; a quantized
 * variant `@int8`/`@int4` is a model of its own) and adapters (parsed, checked, float32: uploaded or trained ones,
 * collapsed merges, and reversible merges' mean models and member tasks rebuilt from their decoded bases), fetched
 * from object storage by the prefixes the edge names and kept in a local disk cache. Both are bounded: base models
 * by bytes of weights as served, least recently used first among those with nothing running, and no tenant may
 * hold more than its share of those bytes while others need them; adapters by count, least recently used first,
 * never one the edge pinned here (its heartbeat answer names them: keepPinned).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MAX_MIX_RANK } from '../../contracts/api/openai.ts';
import type { RoutedTarget, ServedWeightBits } from '../../contracts/api/routed-target.ts';
import type { BackendResidency, PinnedTargets } from '../../contracts/api/residency.ts';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import { catMerge } from '../lowrank/merge-collapsed.ts';
import type { ServedMerge } from '../lowrank/methods/served-merge.ts';
import { openModelFolder, readAdapterFolder } from '../formats/files.ts';
import { isQuantizedWeight, servedWeightBytes } from '../engine/quantized-weights.ts';
import { ServedTokenizer } from '../formats/served-tokenizer.ts';
import { DEFAULT_TOKENIZER_LIMITS, type TokenizerLimits } from '../formats/tokenizer-sandbox.ts';
import type { LoadOptions } from '../engine/load.ts';
import { openPackedWeights } from '../engine/packed-weights.ts';
import { PACKED_WEIGHTS_FILE } from '../../contracts/formats/job-artifacts.ts';
import { Decoder } from '../engine/decoder.ts';
import { closeJsonGrammars } from '../grammar/json-grammars.ts';
import type { SharedTask } from '../lowrank/serving-form.ts';
import { ADAPTER_FILES, MODEL_FILES, type FolderCache } from '../storage/folder-cache.ts';
import { NO_SERVING_OBSERVER, type ServingObserver } from './metrics.ts';
import { collapsedAdapterRef, isReversible, loadBasis, servesTasksThroughBasis } from './merge-artifacts.ts';
import { Scheduler, type SchedulerOptions } from './scheduler.ts';

/** A quantization job's stored packed weights, as the edge routes `<base>@int<bits>` to them. */
type StoredQuantization = NonNullable<RoutedTarget['quantized_weights']>;

/** Decoded reversible-merge bases kept at once. */
const MAX_MERGE_BASES = 8;

export interface LoadedBase {
  id: string;
  dir: string;
  decoder: Decoder;
  scheduler: Scheduler;
  tokenizer: ServedTokenizer | null;
  /** Token ids that end a generation (generation_config.json, else config.json). */
  eos: number[];
}

export interface ModelRef {
  id: string;
  storage_prefix: string;
}

export interface ModelCacheOptions {
  /** Adapters kept loaded. */
  maxAdapters: number;
  /** The most total rank (Σ rᵢ) of the adapters one request mixes. */
  maxMixRank: number;
  /** Bytes of base-model weights kept loaded (what is running is never evicted). */
  maxBaseBytes: number;
  /** The fraction of maxBaseBytes one tenant's base models may hold before its own are evicted first. */
  tenantShare: number;
  scheduler: Partial<SchedulerOptions>;
  /** The deadline and memory cap of each base model's tokenizer sandbox (formats/tokenizer-sandbox.ts). */
  tokenizerLimits: TokenizerLimits;
  /** Told of cache hits, misses and evictions, and of token times (metrics.ts). */
  observer: ServingObserver;
}

export const DEFAULT_MODEL_CACHE_OPTIONS: ModelCacheOptions = {
  maxAdapters: 64,
  maxMixRank: DEFAULT_MAX_MIX_RANK,
  maxBaseBytes: 4 * 1024 ** 3,
  tenantShare: 0.5,
  scheduler: {},
  tokenizerLimits: DEFAULT_TOKENIZER_LIMITS,
  observer: NO_SERVING_OBSERVER,
};

/** Every loaded base is busy and the new one does not fit: the caller answers 503, and the edge tries another backend. */
export class ModelCacheFullError extends Error {
  constructor(need: number, max: number) {
    super(
      `Loading this base model (${need} bytes) would pass the backend's model cache (${max} bytes) while all loaded models are in use; retry after the Retry-After seconds, when one of them is idle.`,
    );
  }
}

interface BaseEntry {
  tenant: string;
  bytes: number;
  loaded: Promise<LoadedBase>;
}

export class ModelCache {
  /** Least recently used first (Map insertion order, refreshed on use). */
  private readonly bases = new Map<string, BaseEntry>();
  private readonly adapters = new Map<string, Promise<LoraAdapter>>();
  /** Decoded bases of reversible merges, least recently used first. */
  private readonly mergeBases = new Map<string, Promise<ServedMerge>>();
  /** Bytes of each loaded adapter's factors, once loaded. */
  private readonly adapterSizes = new Map<string, number>();
  /** Bases whose load finished, by id (eviction needs the scheduler, which a loading base has not yet). */
  private readonly ready = new Map<string, LoadedBase>();
  /** When a request last used each cached adapter and base (ms since the epoch); absent: loaded, not used yet. */
  private readonly adapterUsedAt = new Map<string, number>();
  private readonly baseUsedAt = new Map<string, number>();
  /** Adapter ids the edge pinned on this backend: never evicted while pinned. */
  private pinned = new Set<string>();
  private readonly opts: ModelCacheOptions;
  /** Base models evicted so far (for metrics and tests). */
  evictions = 0;

  constructor(
    private readonly folders: FolderCache,
    opts: Partial<ModelCacheOptions> = {},
  ) {
    this.opts = { ...DEFAULT_MODEL_CACHE_OPTIONS, ...opts };
  }

  /** Adapter ids loaded now, most recently used last (reported in heartbeats). */
  get loadedAdapters(): string[] {
    return [...this.adapters.keys()];
  }

  /** Adapters loaded or loading that the edge pinned here. */
  get pinnedAdapters(): number {
    return [...this.pinned].filter((id) => this.adapters.has(id)).length;
  }

  /** Bytes of the pinned adapters' factors (float32). */
  get pinnedBytes(): number {
    return [...this.pinned].reduce((s, id) => s + (this.adapterSizes.get(id) ?? 0), 0);
  }

  /**
   * Pins exactly these adapters (the edge's list at each heartbeat; one missing from it is released to the LRU
   * order) and loads those not loaded yet, with their base models. A pin that fails to load is logged and tried
   * again at the next heartbeat.
   */
  async keepPinned(pins: PinnedTargets): Promise<void> {
    const adapterPins = pins.filter((p) => p.target.kind === 'adapter' && p.target.adapter);
    this.pinned = new Set(adapterPins.map((p) => p.target.adapter!.id));
    await Promise.all(
      adapterPins
        .filter((p) => !this.adapters.has(p.target.adapter!.id))
        .map(async ({ tenant_id, target }) => {
          try {
            const base = await this.pinnedBase(target, tenant_id);
            const ref = target.adapter!;
            await this.cachedAdapter(ref.id, () => this.readAdapter(base, ref), false);
          } catch (err) {
            console.warn(
              `backend: pinned adapter ${target.adapter!.id} did not load (will retry):`,
              err instanceof Error ? err.message : err,
            );
          }
        }),
    );
  }

  /** What is loaded here, with bytes and last use: the edge's residency view (GET /internal/v1/residency). */
  residency(): BackendResidency {
    return {
      models: [...this.bases].map(([id, e]) => ({
        id,
        bytes: e.bytes,
        last_used_at: this.baseUsedAt.get(id) ?? null,
        loading: !this.ready.has(id),
      })),
      adapters: [...this.adapters.keys()].map((id) => ({
        id,
        bytes: this.adapterSizes.get(id) ?? null,
        last_used_at: this.adapterUsedAt.get(id) ?? null,
        pinned: this.pinned.has(id),
      })),
    };
  }

  /** Base model ids loaded or loading now, most recently used last. */
  get loadedBases(): string[] {
    return [...this.bases.keys()];
  }

  /** Bytes of adapter factors loaded (float32). */
  get adapterBytes(): number {
    let sum = 0;
    for (const bytes of this.adapterSizes.values()) sum += bytes;
    return sum;
  }

  /** The loaded base models' schedulers (for the queue and batch gauges). */
  get schedulers(): Scheduler[] {
    return [...this.ready.values()].map((b) => b.scheduler);
  }

  /** Bytes of base-model weights loaded or loading. */
  get baseBytes(): number {
    let sum = 0;
    for (const e of this.bases.values()) sum += e.bytes;
    return sum;
  }

  /**
   * The base model, loaded on first use for `tenant` (whose share of the cache it counts against), with float32
   * weights or, given `bits`, int8/int4 ones: a quantized variant is a model of its own in the cache.
   */
  base(ref: ModelRef, tenant = '', bits: ServedWeightBits | null = null, packed: StoredQuantization | null = null): Promise<LoadedBase> {
    const key = baseKey(ref, bits, packed);
    this.baseUsedAt.set(key, Date.now());
    return this.cachedBase(key, ref, tenant, bits, packed);
  }

  /** A routed target's base model, loaded for a pin: not counted as a use. */
  private pinnedBase(target: RoutedTarget, tenant: string): Promise<LoadedBase> {
    const { base_model: ref, weight_bits: bits, quantized_weights: packed } = target;
    return this.cachedBase(baseKey(ref, bits, packed), ref, tenant, bits, packed);
  }

  private cachedBase(
    key: string,
    ref: ModelRef,
    tenant: string,
    bits: ServedWeightBits | null,
    packed: StoredQuantization | null,
  ): Promise<LoadedBase> {
    const hit = this.bases.get(key);
    if (hit) {
      this.bases.delete(key);
      this.bases.set(key, hit);
      return hit.loaded;
    }
    // Registered before anything is awaited, so concurrent first requests share one load.
    const entry: BaseEntry = { tenant, bytes: 0, loaded: Promise.resolve(null as never) };
    entry.loaded = this.loadBase(key, ref, bits, packed, entry);
    this.bases.set(key, entry);
    entry.loaded.catch(() => {
      if (this.bases.get(key) !== entry) return;
      this.bases.delete(key);
      this.baseUsedAt.delete(key);
    });
    return entry.loaded;
  }

  private async loadBase(
    key: string,
    ref: ModelRef,
    bits: ServedWeightBits | null,
    packed: StoredQuantization | null,
    entry: BaseEntry,
  ): Promise<LoadedBase> {
    // Served from stored packed weights, the base needs of its checkpoint only what is not quantized (the
    // embedding table and the norms): fetched by range, not the whole checkpoint, unless a copy is here already.
    const dir = packed
      ? await this.folders.fetchParts(ref.storage_prefix, (tensor) => !isQuantizedWeight(tensor))
      : await this.folders.fetch(ref.storage_prefix, MODEL_FILES);
    const quantization = bits === null ? null : { bits };
    // Counted as served (float32, or packed int8/int4; the embedding table stays in its file), from config.json,
    // before anything is loaded.
    const { config } = await openModelFolder(dir);
    const bytes = servedWeightBytes(config, quantization);
    this.makeRoom(entry.tenant, bytes);
    entry.bytes = bytes;
    return this.openBase(key, ref, dir, bits === null ? null : await this.quantizedWeights(bits, packed));
  }

  /**
   * How a quantized base loads: from the packed weights its quantization job stored (what the edge routes to), or,
   * for a direct call naming no job, quantized at load.
   */
  private async quantizedWeights(bits: ServedWeightBits, packed: StoredQuantization | null): Promise<LoadOptions> {
    if (!packed) return { weightQuantization: { bits } };
    const dir = await this.folders.fetch(packed.storage_prefix, (name) => name === PACKED_WEIGHTS_FILE);
    const stored = await openPackedWeights(join(dir, PACKED_WEIGHTS_FILE));
    if (stored.weightQuantization.bits !== bits)
      invalid(
        'quantized_weights_mismatch',
        `quantization ${packed.id} stored ${stored.weightQuantization.bits}-bit weights, not ${bits}-bit.`,
        'model',
      );
    return stored;
  }

  /** Evicts idle bases, this tenant's own first while it holds more than its share, until `bytes` more fit. */
  private makeRoom(tenant: string, bytes: number): void {
    const { maxBaseBytes: max, tenantShare } = this.opts;
    const heldBy = (t: string) => [...this.bases.values()].reduce((s, e) => s + (e.tenant === t ? e.bytes : 0), 0);
    const tenantOver = () => heldBy(tenant) + bytes > max * tenantShare;
    const totalOver = () => this.baseBytes + bytes > max;
    // Least recently used first: the tenant's own while it is over its share, then anyone's.
    for (const [id, e] of [...this.bases]) if (totalOver() && tenantOver() && e.tenant === tenant) this.evictIfIdle(id);
    for (const [id] of [...this.bases]) if (totalOver()) this.evictIfIdle(id);
    if (totalOver()) throw new ModelCacheFullError(bytes, max);
  }

  private evictIfIdle(id: string): void {
    const base = this.ready.get(id);
    // Still loading, or generating for someone: it stays.
    if (!base || base.scheduler.load > 0) return;
    this.bases.delete(id);
    this.ready.delete(id);
    this.baseUsedAt.delete(id);
    this.evictions++;
    this.opts.observer.baseEvicted();
    void base.decoder.release();
    if (base.tokenizer) void closeJsonGrammars(base.tokenizer);
    void base.tokenizer?.close();
  }

  private async openBase(key: string, ref: ModelRef, dir: string, quantized: LoadOptions | null): Promise<LoadedBase> {
    const folder = await openModelFolder(dir);
    const decoder = await Decoder.fromFolder(folder, { scratchDir: dir, ...quantized });
    // After the weights, so a model whose weights fail to load leaves no tokenizer process behind.
    const tokenizer = await ServedTokenizer.load(dir, this.opts.tokenizerLimits);
    const generation = (await readJson(join(dir, 'generation_config.json'))) as { eos_token_id?: number | number[] } | null;
    const eos = generation?.eos_token_id ?? folder.config.eosTokenIds;
    const base: LoadedBase = {
      id: ref.id,
      dir,
      decoder,
      scheduler: new Scheduler(decoder, this.opts.scheduler, this.opts.observer),
      tokenizer,
      eos: Array.isArray(eos) ? eos : [eos],
    };
    this.ready.set(key, base);
    return base;
  }

  /**
   * The adapter a routed target runs with (null for the base model alone): an uploaded or trained adapter, a
   * collapsed merge's adapter, or a reversible merge's mean model or member task, rebuilt from its basis (kept
   * decoded for the next task) and then cached like any adapter.
   */
  async targetAdapter(base: LoadedBase, target: RoutedTarget): Promise<LoraAdapter | null> {
    const { merge, adapter } = target;
    if (target.kind === 'base') return null;
    if (target.kind === 'adapter') return this.adapter(base, adapter!);
    if (target.kind === 'mix') return this.mix(base, target.mix ?? []);
    if (!merge) invalid('bad_routing', `a ${target.kind} target must name its merge.`, 'model');
    if (target.kind === 'merge' && !isReversible(merge)) return this.adapter(base, collapsedAdapterRef(merge));
    if (target.kind === 'merge') return this.cachedAdapter(`merge:${merge.id}:mean`, async () => (await this.basis(merge)).mean());
    return this.cachedAdapter(`merge:${merge.id}/${adapter!.id}`, async () => (await this.basis(merge)).task(adapter!.id));
  }

  /**
   * What a routed target runs with, as the engine's request fields: a task of an `rmm_shared` merge as the task of
   * its shared basis (`shared`: served through the batch's shared path, shared-basis-rows.ts, with no rebuild and
   * no adapter slot), anything else as `targetAdapter` gives it. Spread it into a GenerationRequest.
   */
  async targetRequest(base: LoadedBase, target: RoutedTarget): Promise<{ adapter: LoraAdapter | null; shared?: SharedTask }> {
    const { merge, adapter } = target;
    const shared =
      target.kind === 'merge_task' && merge && servesTasksThroughBasis(merge)
        ? await (await this.basis(merge)).sharedTask(adapter!.id)
        : null;
    return shared ? { adapter: null, shared } : { adapter: await this.targetAdapter(base, target) };
  }

  /**
   * A request's mix of adapters as one adapter: Σ wᵢ·ΔWᵢ as the concatenated factors of the `cat` merge (A rows
   * wᵢ·sᵢ·Aᵢ stacked, B columns Bᵢ; rank Σ rᵢ, exact), built from the cached adapters and cached by ids and weights.
   */
  private mix(base: LoadedBase, mix: NonNullable<RoutedTarget['mix']>): Promise<LoraAdapter> {
    if (mix.length === 0) invalid('bad_routing', 'a mix target must name its adapters.', 'adapters');
    const key = `mix:${mix.map((m) => `${m.id}*${m.weight}`).join('+')}`;
    return this.cachedAdapter(key, async () => {
      const loaded = await Promise.all(mix.map((m) => this.adapter(base, m)));
      const ranks = loaded.map((a) => Math.max(...a.modules.map((m) => m.rank)));
      const total = ranks.reduce((s, r) => s + r, 0);
      if (total > this.opts.maxMixRank)
        invalid(
          'mix_rank_too_large',
          `The adapters' ranks add up to ${total} (${mix.map((m, i) => `${m.name}: ${ranks[i]}`).join(', ')}); this backend mixes at most ${this.opts.maxMixRank}. Mix fewer or lower-rank adapters.`,
          'adapters',
        );
      const members = mix.map((m, i) => ({ name: m.id, baseModel: base.id, adapter: loaded[i] }));
      return catMerge(
        members,
        mix.map((m) => m.weight),
      );
    });
  }

  /** A reversible merge's decoded basis (a few are kept: rebuilding a task from one takes milliseconds). */
  private basis(merge: NonNullable<RoutedTarget['merge']>): Promise<ServedMerge> {
    let hit = this.mergeBases.get(merge.id);
    if (hit) this.mergeBases.delete(merge.id);
    else {
      hit = loadBasis(this.folders, merge);
      hit.catch(() => this.mergeBases.delete(merge.id));
    }
    this.mergeBases.set(merge.id, hit);
    while (this.mergeBases.size > MAX_MERGE_BASES) this.mergeBases.delete(this.mergeBases.keys().next().value!);
    return hit;
  }

  async adapter(base: LoadedBase, ref: ModelRef): Promise<LoraAdapter> {
    return this.cachedAdapter(ref.id, () => this.readAdapter(base, ref));
  }

  private readAdapter(base: LoadedBase, ref: ModelRef): Promise<LoraAdapter> {
    return this.folders.fetch(ref.storage_prefix, ADAPTER_FILES).then((dir) => readAdapterFolder(dir, base.decoder.cfg));
  }

  /**
   * An adapter from the LRU cache, or loaded by `load` and cached under `id`; `used` is false for a pin's load,
   * which is no request (no lookup counted, no last use).
   */
  private cachedAdapter(id: string, load: () => Promise<LoraAdapter>, used = true): Promise<LoraAdapter> {
    const hit = this.adapters.get(id);
    if (used) {
      this.opts.observer.adapterLookup(hit !== undefined);
      this.adapterUsedAt.set(id, Date.now());
    }
    if (hit) {
      // Refresh its place in the LRU order.
      this.adapters.delete(id);
      this.adapters.set(id, hit);
      return hit;
    }
    const loading = load();
    this.adapters.set(id, loading);
    loading.then(
      (adapter) => {
        if (this.adapters.get(id) === loading)
          this.adapterSizes.set(id, 4 * adapter.modules.reduce((s, m) => s + m.a.length + m.b.length, 0));
      },
      () => {
        if (this.adapters.get(id) !== loading) return;
        this.adapters.delete(id);
        this.adapterUsedAt.delete(id);
      },
    );
    this.evictAdapters();
    return loading;
  }

  /** Least recently used first, past maxAdapters; pinned adapters stay (so pins beyond maxAdapters grow the cache). */
  private evictAdapters(): void {
    let over = this.adapters.size - this.opts.maxAdapters;
    for (const id of [...this.adapters.keys()]) {
      if (over <= 0) return;
      if (this.pinned.has(id)) continue;
      this.adapters.delete(id);
      this.adapterSizes.delete(id);
      this.adapterUsedAt.delete(id);
      this.opts.observer.adapterEvicted();
      over--;
    }
  }
}

/** A base model's place in the cache: a quantized variant is a model of its own. */
function baseKey(ref: ModelRef, bits: ServedWeightBits | null, packed: StoredQuantization | null): string {
  return bits === null ? ref.id : `${ref.id}@int${bits}${packed ? `/${packed.id}` : ''}`;
}

function readJson(path: string): Promise<unknown> {
  return readFile(path, 'utf8').then(JSON.parse, () => null);
}
