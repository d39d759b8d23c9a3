/**
 * What a reversible merge holds, and the alignment of n adapters module by module that every construction
 * starts from. A merge is a list of modules, each a set of named float matrices ("parts"): the shared parts and
 * the per-task coefficients of one construction. Keeping the parts as plain named matrices lets one encoder
 * write every construction to safetensors and one storage count cover them all.
 */
import type { AdapterModule } from '../../contracts/formats/adapter.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import type { Projection } from '../../contracts/formats/hf-config.ts';
import type { ReversibleFloatBits } from '../../contracts/formats/job-artifacts.ts';
import { keepFloat32 } from './float32-twin.ts';
import type { F32Mat } from './gemm-runner.ts';
import type { Mat } from './linalg.ts';
import type { Member } from './members.ts';
import { alignModules } from './module-alignment.ts';
import { deltaFactors, type DeltaFactors } from './peft-adapter.ts';

export const CONSTRUCTIONS = ['factor', 'factor_svd', 'delta', 'shared'] as const;
export type Construction = (typeof CONSTRUCTIONS)[number];

/** Where a module sits in the base model and its shape. */
export interface ModuleSlot {
  layer: number;
  projection: Projection;
  path: string;
  out: number;
  in: number;
}

/**
 * A stored matrix of a merge: float64 where the construction computes and keeps its parts in float64 (shared, delta,
 * and every decoded merge), float32 where it writes them as its artifact stores them (factor, as built).
 */
export type PartMat = Mat | F32Mat;

export interface MergedModule extends ModuleSlot {
  /** The construction's matrices for this module, by name (see each construction's file for the names). */
  parts: Record<string, PartMat>;
}

/** A module's parts where its construction keeps them in float64 (shared, delta); throws on float32 parts. */
export function float64Parts(m: { path: string; parts: Record<string, PartMat> }): Record<string, Mat> {
  for (const [name, part] of Object.entries(m.parts))
    if (!(part.data instanceof Float64Array)) throw new Error(`${m.path}.${name} is not float64: it is not a shared or delta merge's part`);
  return m.parts as Record<string, Mat>;
}

export interface MergedTask {
  name: string;
  /** The module paths this task's adapter targets; a revert rebuilds exactly these. */
  paths: string[];
}

export interface ReversibleMerge {
  construction: Construction;
  baseModel: string;
  /** p: how many tasks' worth of basis the merge keeps (1 ≤ p ≤ n). */
  basisSize: number;
  tasks: MergedTask[];
  modules: MergedModule[];
  /** Floats of keeping every member as it is, Σ_tasks Σ_modules r·(out+in): the denominator of `storage`. */
  fullFloats: number;
  /** Bits per stored value of the parts (stored-precision.ts); absent: 32. */
  floatBits?: ReversibleFloatBits;
}

/**
 * One module across the n members. A merge reads each member's module as stored (`stored`: float32, the scale
 * apart) a module at a time; `factors` (float64, the scale folded into B) is widened only when first read, by the
 * constructions that work on float64 factors. Widening every member up front held twice the members' bytes for the
 * whole merge: at the Llama-3-8B shape that was most of an `rmm_shared` merge's peak.
 */
export interface AlignedModule extends ModuleSlot {
  factors: (DeltaFactors | null)[];
  /** The members' modules as stored, where the caller has them (alignMembers); else read from `factors`. */
  stored?: (AdapterModule | null)[];
}

/** The union of the members' modules in model order (layer, then projection), each member's module as stored. */
export function alignMembers(members: Member[]): AlignedModule[] {
  return alignModules(members).map(({ first: m, modules }) => alignedOf(slotOf(m), modules));
}

/**
 * A module slot over the members' stored modules, with `factors` widened on first read and kept. `stored` is not
 * enumerable, so a slot sent to a float64 thread (structured clone) carries only the factors that thread reads.
 */
export function alignedOf(slot: ModuleSlot, stored: (AdapterModule | null)[]): AlignedModule {
  let widened: (DeltaFactors | null)[] | undefined;
  // A literal of its own rather than properties added to slotOf's result: that left slotOf's objects slower to make.
  const aligned = {
    ...slot,
    get factors() {
      widened ??= stored.map((x) => (x ? deltaFactors(x) : null));
      return widened;
    },
  };
  return Object.defineProperty(aligned, 'stored', { value: stored, enumerable: false });
}

/** How many members the slot spans. */
export function memberCount(slot: AlignedModule): number {
  return (slot.stored ?? slot.factors).length;
}

/** Member i's rank at this module (0 where it does not target it), without widening anything. */
export function memberRank(slot: AlignedModule, i: number): number {
  return slot.stored ? (slot.stored[i]?.rank ?? 0) : (slot.factors[i]?.a.rows ?? 0);
}

/** Member i's factors at this module in float64: widened afresh from the stored module (the caller drops them), or the kept ones. */
export function memberFactors(slot: AlignedModule, i: number): DeltaFactors | null {
  if (!slot.stored) return slot.factors[i];
  const x = slot.stored[i];
  return x ? deltaFactors(x) : null;
}

/** Member i's B (scale not applied), A, and the scale B takes: the stored float32 arrays where there are some. */
function rawFactors(slot: AlignedModule, i: number): { b: ArrayLike<number>; a: Float32Array | Float64Array; scale: number } | null {
  if (slot.stored) {
    const x = slot.stored[i];
    return x ? { b: x.b, a: x.a, scale: x.scale } : null;
  }
  const f = slot.factors[i];
  return f ? { b: f.b.data, a: f.a.data, scale: 1 } : null;
}

export function memberTasks(members: Member[]): MergedTask[] {
  return members.map((m) => ({ name: m.name, paths: m.adapter.modules.map((mod) => mod.path) }));
}

/** Σ_tasks Σ_modules r·(out+in): the floats of keeping all members unchanged. */
export function fullFloats(members: Member[]): number {
  let total = 0;
  for (const m of members) for (const mod of m.adapter.modules) total += mod.rank * (mod.in + mod.out);
  return total;
}

/** Floats stored by a merge: every part of every module. */
export function storedFloats(modules: { parts: Record<string, PartMat> }[]): number {
  let total = 0;
  for (const m of modules) for (const part of Object.values(m.parts)) total += part.rows * part.cols;
  return total;
}

export function slotOf(m: ModuleSlot): ModuleSlot {
  return { layer: m.layer, projection: m.projection, path: m.path, out: m.out, in: m.in };
}

/**
 * [B₁…Bₙ] (out×N) and [A₁;…;Aₙ] (N×in), with each task's column range (empty for a task lacking the module).
 * Read-only: several runtime products read them, so their float32 copies are written in the same pass and kept
 * (keepFloat32). Element loops rather than a subarray per row: at out = 14336 and r = 16 those were most of an
 * 8B-shape merge's main-thread time. A caller that is done with them may `releaseStack` them for the next module
 * of the same shape.
 */
export function stack(slot: AlignedModule): { bcat: Mat; acat: Mat; blocks: [number, number][] } {
  const { b32, a32, b64, a64, total, blocks } = fillStack(slot, true);
  const bcat = keepFloat32({ rows: slot.out, cols: total, data: b64! }, b32);
  return { bcat, acat: keepFloat32({ rows: total, cols: slot.in, data: a64! }, a32), blocks };
}

/**
 * The same stacks in float32 only, for products that run on the runtime alone (a merge's final U = [B₁…Bₙ]·W and
 * V = [A₁;…;Aₙ]ᵀ·W): the float64 copies are two thirds of what stack() writes.
 */
export function stack32(slot: AlignedModule): { bcat: F32Mat; acat: F32Mat } {
  const { b32, a32, total } = fillStack(slot, false);
  return { bcat: { rows: slot.out, cols: total, data: b32 }, acat: { rows: total, cols: slot.in, data: a32 } };
}

/**
 * Stacks released by their caller, by length, for the next module of that shape: a merge's modules come in a few
 * shapes, and each fresh stack was megabytes of external memory, which is what set off most of the main thread's
 * full collections (about 50 per 135M merge). Kept only inside `reusingStacks`, and dropped when it ends, so a
 * long-running process holds none between merges.
 */
const released = new Map<string, (Float32Array | Float64Array)[]>();
let reusing = 0;

/** Runs `fn` (one merge) with released stacks reused, and drops them once no such run is left. */
export async function reusingStacks<T>(fn: () => Promise<T>): Promise<T> {
  reusing++;
  try {
    return await fn();
  } finally {
    if (--reusing === 0) released.clear();
  }
}

function reused<T extends Float32Array | Float64Array>(kind: new (n: number) => T, length: number): T {
  const free = released.get(`${kind.name}:${length}`);
  return (free?.pop() as T | undefined) ?? new kind(length);
}

/**
 * Hands a stack's arrays (float64 and their kept float32 copies: float32Of) back once nothing reads them any more,
 * the products that read them having returned.
 */
export function releaseStack(...arrays: (Float32Array | Float64Array)[]): void {
  if (reusing === 0) return;
  for (const x of arrays) {
    const key = `${x.constructor.name}:${x.length}`;
    const free = released.get(key) ?? [];
    free.push(x);
    released.set(key, free);
  }
}

/** Each member's column range in the stacks (empty for a member lacking the module), as stack() gives them. */
export function stackBlocks(slot: AlignedModule): [number, number][] {
  let at = 0;
  return Array.from({ length: memberCount(slot) }, (_, i) => {
    const from = at;
    at += memberRank(slot, i);
    return [from, at];
  });
}

function fillStack(slot: AlignedModule, float64: boolean) {
  const n = memberCount(slot);
  const ranks = Array.from({ length: n }, (_, i) => memberRank(slot, i));
  const total = ranks.reduce((s, r) => s + r, 0);
  // Every entry is written below (a member lacking the module has rank 0), so a reused array needs no clearing.
  const b32 = reused(Float32Array, slot.out * total);
  const a32 = reused(Float32Array, total * slot.in);
  const b64 = float64 ? reused(Float64Array, b32.length) : null;
  const a64 = float64 ? reused(Float64Array, a32.length) : null;
  const blocks: [number, number][] = [];
  const factors = ranks.map((_, i) => rawFactors(slot, i));
  let at = 0;
  factors.forEach((f, i) => {
    blocks.push([at, at + ranks[i]]);
    if (f) {
      a64?.set(f.a, at * slot.in);
      a32.set(f.a, at * slot.in);
    }
    at += ranks[i];
  });
  // Row by row, each member's r values in turn: the destination is written in order (a member at a time wrote
  // every row n times over, 1.6× the time with the float64 copy).
  for (let row = 0; row < slot.out; row++) {
    let to = row * total;
    for (let i = 0; i < n; i++) {
      const f = factors[i];
      const r = ranks[i];
      if (!f) continue;
      const { b: src, scale } = f;
      const from = row * r;
      if (b64) {
        for (let k = 0; k < r; k++) {
          // The same float64 product deltaFactors forms, so a stored member stacks exactly as a widened one.
          const x = src[from + k] * scale;
          b64[to + k] = x;
          b32[to + k] = x;
        }
      } else for (let k = 0; k < r; k++) b32[to + k] = src[from + k] * scale;
      to += r;
    }
  }
  return { b32, a32, b64, a64, total, blocks };
}

/** The index of task `name` among a merge's tasks, or a refusal naming the members. */
export function taskIndex(tasks: MergedTask[], name: string): number {
  const i = tasks.findIndex((t) => t.name === name);
  if (i < 0) invalid('unknown_task', `"${name}" is not a member; the members are ${tasks.map((t) => `"${t.name}"`).join(', ')}.`, 'task');
  return i;
}
