/**
 * A task of a shared-basis merge (construction 'shared') rebuilt as float32 LoRA factors, one module family at a
 * time (the modules of one shape across layers: q and o, gate and up each make one): B = U·Xᵢ and A = Yᵢᵀ·Vᵀ for
 * every module of the family in two batched runs. U and Vᵀ are stacked in float32 once per merge (zero-padded to
 * the family's largest k, which adds exact zeros) and kept, so a revert is two products per family and a copy of
 * their result: per module it was a few products of a few million multiply-adds, each paying a session run or
 * float64 JS, plus conversions.
 *
 * Xᵢ (k×c) and Yᵢ (k×c) per module: Pᵢ and Qᵢ where the cores are kept factored (c = the module's rank), Σᵢ and
 * the identity where the cores are full (A = Vᵀ, c = k), and at p = n the √S split of Σᵢ's SVD at its numerical
 * rank (c = the task's own rank; k ≤ 2r there, so these SVDs are tiny).
 */
import { balancedSplit, numericalRank } from './balanced-split.ts';
import { float32Of } from './float32-twin.ts';
import { gemmStacked32, onRuntime } from './gemm-runner.ts';
import { svd } from './linalg.ts';
import { familiesOf } from './module-families.ts';
import { float64Parts, type MergedModule, type ReversibleMerge } from './reversible-types.ts';

/** A rebuilt module: B (out×rank) and A (rank×in), row-major float32, as an adapter holds them. */
export interface Factors32 {
  b: Float32Array;
  a: Float32Array;
  rank: number;
}

interface Family {
  /** Indices into merge.modules, one per layer. */
  members: number[];
  out: number;
  in: number;
  kmax: number;
  /** [L, out, kmax] and [L, kmax, in], made on the first revert that runs the family on the runtime. */
  u?: Float32Array;
  vT?: Float32Array;
}

/** The merge's families and their stacked bases: a merge's parts are never written after it is built. */
const plans = new WeakMap<ReversibleMerge, Family[]>();

const familiesOfMerge = (merge: ReversibleMerge) =>
  familiesOf(
    plans,
    merge,
    (m) => `${m.out}:${m.in}`,
    (m): Family => ({ members: [], out: m.out, in: m.in, kmax: 0 }),
    (f, m) => {
      f.kmax = Math.max(f.kmax, m.parts.u.cols);
    },
  );

/** Xᵢ (k×c) and Yᵢᵀ (c×k), row-major float64: the small per-task matrices of one module. */
function taskMatrices(m: MergedModule, task: number, compact: boolean): { k: number; c: number; x: Float64Array; yT: Float64Array } {
  const { u, cores, coreB, coreA } = float64Parts(m);
  const k = u.cols;
  if (coreB) {
    const c = coreB.cols / k;
    const x = coreB.data.subarray(task * k * c, (task + 1) * k * c);
    const q = coreA.data.subarray(task * k * c, (task + 1) * k * c);
    const yT = new Float64Array(c * k);
    for (let a = 0; a < k; a++) for (let j = 0; j < c; j++) yT[j * k + a] = q[a * c + j];
    return { k, c, x, yT };
  }
  const sigma = cores.data.subarray(task * k * k, (task + 1) * k * k);
  if (compact) {
    const split = svd({ rows: k, cols: k, data: Float64Array.from(sigma) });
    const { b, a } = balancedSplit(split, numericalRank(split.s));
    return { k, c: b.cols, x: b.data, yT: a.data };
  }
  const yT = new Float64Array(k * k);
  for (let a = 0; a < k; a++) yT[a * k + a] = 1;
  return { k, c: k, x: sigma, yT };
}

/**
 * Task `task`'s factors for every module it targets, by module index. `compact` (p = n) re-splits full cores to
 * the task's own rank.
 */
export async function sharedTaskFactors(merge: ReversibleMerge, task: number, compact: boolean): Promise<Map<number, Factors32>> {
  const targets = new Set(merge.tasks[task].paths);
  const out = new Map<number, Factors32>();
  for (const family of familiesOfMerge(merge)) {
    const members = family.members.filter((i) => targets.has(merge.modules[i].path));
    if (members.length === 0) continue;
    const small = members.map((i) => taskMatrices(merge.modules[i], task, compact));
    const cmax = Math.max(...small.map((s) => s.c));
    const L = family.members.length;
    if (onRuntime(L * (family.out + family.in), family.kmax, cmax)) await onFamily(merge, family, members, small, cmax, out);
    else members.forEach((i, at) => out.set(i, inJs(merge.modules[i], small[at])));
  }
  return out;
}

/**
 * The family's two batched products (every layer of it, a layer the task lacks with zero Xᵢ), then each module's
 * factors as views of their result (copied only where a module's rank is below the family's widest).
 */
async function onFamily(
  merge: ReversibleMerge,
  family: Family,
  members: number[],
  small: { k: number; c: number; x: Float64Array; yT: Float64Array }[],
  cmax: number,
  out: Map<number, Factors32>,
): Promise<void> {
  const { out: rows, in: cols, kmax } = family;
  const L = family.members.length;
  if (!family.u || !family.vT) stackBases(merge, family);
  const xs = new Float32Array(L * kmax * cmax);
  const yTs = new Float32Array(L * cmax * kmax);
  const layerOf = members.map((i) => family.members.indexOf(i));
  small.forEach(({ k, c, x, yT }, at) => {
    const l = layerOf[at];
    for (let a = 0; a < k; a++) for (let j = 0; j < c; j++) xs[(l * kmax + a) * cmax + j] = x[a * c + j];
    for (let j = 0; j < c; j++) for (let a = 0; a < k; a++) yTs[(l * cmax + j) * kmax + a] = yT[j * k + a];
  });
  const b = await gemmStacked32(family.u!, xs, L, rows, kmax, cmax);
  const a = await gemmStacked32(yTs, family.vT!, L, cmax, kmax, cols);
  members.forEach((i, at) => {
    const l = layerOf[at];
    const c = small[at].c;
    const bl = b.subarray(l * rows * cmax, (l + 1) * rows * cmax);
    let bOut: Float32Array;
    if (c === cmax) bOut = bl;
    else {
      bOut = new Float32Array(rows * c);
      for (let o = 0; o < rows; o++) bOut.set(bl.subarray(o * cmax, o * cmax + c), o * c);
    }
    out.set(i, { b: bOut, a: a.subarray(l * cmax * cols, (l * cmax + c) * cols), rank: c });
  });
}

/** U [L, out, kmax] and Vᵀ [L, kmax, in] of a family in float32, zero past each module's own k. */
function stackBases(merge: ReversibleMerge, family: Family): void {
  const { out: rows, in: cols, kmax } = family;
  const L = family.members.length;
  const u = new Float32Array(L * rows * kmax);
  const vT = new Float32Array(L * kmax * cols);
  family.members.forEach((i, l) => {
    const { u: ui, v: vi } = float64Parts(merge.modules[i]);
    const k = ui.cols;
    const u32 = float32Of(ui);
    if (k === kmax) u.set(u32, l * rows * kmax);
    else for (let o = 0; o < rows; o++) u.set(u32.subarray(o * k, (o + 1) * k), (l * rows + o) * kmax);
    const v = vi.data;
    const base = l * kmax * cols;
    for (let c = 0; c < cols; c++) for (let a = 0; a < k; a++) vT[base + a * cols + c] = v[c * k + a];
  });
  family.u = u;
  family.vT = vT;
}

/** A small module in float64 JS: B = U·X, A = Yᵀ·Vᵀ, rounded to float32 once. */
function inJs(m: MergedModule, { k, c, x, yT }: { k: number; c: number; x: Float64Array; yT: Float64Array }): Factors32 {
  const { u, v } = float64Parts(m);
  const b = new Float32Array(m.out * c);
  const acc = new Float64Array(c);
  for (let o = 0; o < m.out; o++) {
    for (let j = 0; j < c; j++) acc[j] = 0;
    for (let a = 0; a < k; a++) {
      const w = u.data[o * k + a];
      if (w !== 0) for (let j = 0; j < c; j++) acc[j] += w * x[a * c + j];
    }
    // Loops, not acc.fill and b.set(acc): at the small k of these modules a builtin call per row cost more than the
    // row's products (2.5-3× the module's time).
    for (let j = 0; j < c; j++) b[o * c + j] = acc[j];
  }
  const a = new Float32Array(c * m.in);
  for (let col = 0; col < m.in; col++) {
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += yT[j * k + t] * v.data[col * k + t];
      a[j * m.in + col] = s;
    }
  }
  return { b, a, rank: c };
}
