/**
 * The methods the merge benchmark compares, each as a row builder: it makes one adapter per task (or one for all)
 * from the suite's six task adapters, and says what that costs to store and how far each rebuilt ΔW is from the
 * task's own (‖ΔŴ − ΔW‖_F / ‖ΔW‖_F over all of a task's modules, from the factors, whatever the method).
 */
import type { LoraAdapter } from '../contracts/formats/adapter.ts';
import { compressAdapter, type CompressSpec } from '../gpu-backend/lowrank/compress.ts';
import { jointAdapter, jointCompress, jointStorage } from '../gpu-backend/lowrank/joint.ts';
import { relativeError } from '../gpu-backend/lowrank/delta-distance.ts';
import { mergeCollapsed, type CollapsedSpec } from '../gpu-backend/lowrank/merge-collapsed.ts';
import type { Member } from '../gpu-backend/lowrank/members.ts';
import { quantizeAdapter, quantizeBaseWeights, type QuantizeOptions } from '../gpu-backend/lowrank/quantize.ts';
import type { ModelFolder } from '../gpu-backend/formats/files.ts';
import { toFloat32 } from '../contracts/formats/safetensors.ts';
import { buildReversibleMerge, revertTask, type Construction } from '../gpu-backend/lowrank/reversible.ts';
import { storageFraction } from '../gpu-backend/lowrank/stored-precision.ts';
import { BASE_MODEL, type Suite } from './merge-suite.ts';

/** A method's adapters, one per task in suite order, and its storage relative to keeping all adapters in fp32. */
export interface Built {
  method: string;
  adapters: (LoraAdapter | null)[];
  storage: number;
  /** Mean over tasks of the relative ΔW error (null where there is no ΔW to compare, as for the base alone). */
  error: number | null;
  buildSeconds: number;
}

export function members(suite: Suite): Member[] {
  return suite.tasks.map((t) => ({ name: t.name, baseModel: BASE_MODEL, adapter: t.adapter }));
}

/** fp32 floats of an adapter's factors, Σ rank·(in + out). */
export function adapterFloats(adapter: LoraAdapter): number {
  return adapter.modules.reduce((s, m) => s + m.rank * (m.in + m.out), 0);
}

async function timed(
  method: string,
  build: () => Promise<{ adapters: LoraAdapter[]; storage: number }> | { adapters: LoraAdapter[]; storage: number },
  suite: Suite,
): Promise<Built> {
  const t = performance.now();
  const { adapters, storage } = await build();
  const buildSeconds = (performance.now() - t) / 1000;
  const errors = adapters.map((a, i) => relativeError(a, suite.tasks[i].adapter));
  return { method, adapters, storage, error: errors.reduce((s, e) => s + e, 0) / errors.length, buildSeconds };
}

const allFloats = (suite: Suite) => suite.tasks.reduce((s, t) => s + adapterFloats(t.adapter), 0);

/** A collapsed merge: the same merged adapter answers every task. */
export function collapsed(suite: Suite, label: string, spec: CollapsedSpec): Promise<Built> {
  return timed(
    label,
    async () => {
      const { adapter } = await mergeCollapsed(members(suite), spec);
      return { adapters: suite.tasks.map(() => adapter), storage: adapterFloats(adapter) / allFloats(suite) };
    },
    suite,
  );
}

/**
 * A reversible merge at basis size p (its parts in float32, or float16 for 'shared' with floatBits 16): each task
 * answered by its revert. Storage is the bytes of the merge's parts (as reversibleReport counts them) rather than
 * through the report, which rebuilds every task a second time.
 */
export function reversible(suite: Suite, label: string, construction: Construction, p: number, floatBits = 32): Promise<Built> {
  return timed(
    label,
    async () => {
      const ms = members(suite);
      const merge = await buildReversibleMerge(ms, { construction, basisSize: p, floatBits });
      const adapters: LoraAdapter[] = [];
      for (const t of suite.tasks) adapters.push(await revertTask(merge, t.name));
      return { adapters, storage: storageFraction(merge) };
    },
    suite,
  );
}

/** Joint compression to a shared basis per module (one k, or a storage fraction spent by spectrum): each task answered by its own core. */
export function joint(suite: Suite, label: string, size: { k: number } | { storage: number }): Promise<Built> {
  return timed(
    label,
    async () => {
      const ms = members(suite);
      const basis = await jointCompress(ms, size);
      return { adapters: suite.tasks.map((t) => jointAdapter(basis, t.name)), storage: jointStorage(basis) };
    },
    suite,
  );
}

/** Each adapter compressed on its own by truncated SVD. */
export function compressed(suite: Suite, label: string, spec: CompressSpec): Promise<Built> {
  return eachAdapter(suite, label, (adapter) => compressAdapter(adapter, spec, BASE_MODEL));
}

/** Each adapter's factors quantized group-wise, served dequantized. */
export function quantized(suite: Suite, label: string, opts: QuantizeOptions): Promise<Built> {
  return eachAdapter(suite, label, (adapter) => quantizeAdapter(adapter, opts));
}

/** A row where each task's adapter is transformed on its own; storage is the bytes kept over the bytes before. */
function eachAdapter(
  suite: Suite,
  label: string,
  transform: (adapter: LoraAdapter) => { adapter: LoraAdapter; report: { bytesBefore: number; bytesAfter: number } },
): Promise<Built> {
  return timed(
    label,
    () => {
      let before = 0;
      let after = 0;
      const adapters = suite.tasks.map((t) => {
        const { adapter, report } = transform(t.adapter);
        before += report.bytesBefore;
        after += report.bytesAfter;
        return adapter;
      });
      return { adapters, storage: after / before };
    },
    suite,
  );
}

/** The base with its projections, LM head and embedding quantized, dequantized back for the float engine. */
export function quantizedBase(base: ModelFolder, opts: QuantizeOptions): { folder: ModelFolder; storage: number; relError: number } {
  const { weights, report } = quantizeBaseWeights(base.weights, opts);
  let err = 0;
  let norm = 0;
  for (const w of report.weights) {
    const t = base.weights.get(w.name)!;
    let sq = 0;
    for (const x of toFloat32(t)) sq += x * x;
    err += w.relError * w.relError * sq;
    norm += sq;
  }
  return { folder: { ...base, weights }, storage: report.storageRatio, relError: Math.sqrt(err / norm) };
}
