/**
 * A task of a factor-space merge ('factor', 'factor_svd') rebuilt straight into the float32 factors an adapter
 * holds: per position (row of B, column of A) μ + V·C[:, task]. A revert reads every stored basis value once
 * (~25M on the 135M shape) for a few multiply-adds each, which float64 JS did at ~3 ns a value, and the runtime's
 * batched MatMul (one [1×p]·[p×r] product per position) at about 2 ns. So a module family (the modules of one
 * shape and rank across layers) keeps float32 stacks of its parts in the memory of its own instance of
 * factor-revert-kernels.wat, made on its first revert and kept for the merge's life, and each revert is one pass
 * of f32x4 multiply-adds over them per side (A's side written in A's layout). A family too small to be worth the
 * stacks stays in float64 JS (rebuildFactor32), which keeps the test fixtures exact.
 */
import { float32Of, hasFloat32Twin } from './float32-twin.ts';
import { onRuntime } from './gemm-runner.ts';
import { familiesOf } from './module-families.ts';
import { rebuildFactor32 } from './reversible-factor.ts';
import type { PartMat, ReversibleMerge } from './reversible-types.ts';
import type { Factors32 } from './shared-revert.ts';
import { growTo, instantiateWat, type KernelMemory } from './wat-module.ts';

type FactorSide = 'b' | 'a';

interface Family {
  /** Indices into merge.modules, one per layer, all of one shape and rank. */
  members: number[];
  positions: { b: number; a: number };
  r: number;
  p: number;
  /** The family's stacks in its kernel's memory, made on the first revert that runs the family there. */
  kernel?: Promise<FamilyKernel>;
}

/** Most bytes a family's kernel memory holds (a WebAssembly memory ends at 4 GB). */
const REVERT_KERNEL_MAX_BYTES = 2 ** 31;

interface RevertExports {
  memory: KernelMemory;
  rebuild(
    mu: number,
    basis: number,
    coef: number,
    out: number,
    L: number,
    P: number,
    r: number,
    p: number,
    n: number,
    task: number,
    transposed: number,
  ): void;
}

/** Byte offsets in the kernel's memory, per side: μ [L, P, r], V [L, P, p, r], C [L, P, n, p] and the side's output. */
type SideLayout = { mu: number; basis: number; coef: number; out: number };

interface FamilyKernel {
  k: RevertExports;
  sides: Record<FactorSide, SideLayout>;
}

const plans = new WeakMap<ReversibleMerge, Family[]>();

const familiesOfMerge = (merge: ReversibleMerge) =>
  familiesOf(
    plans,
    merge,
    (m) => `${m.out}:${m.in}:${m.parts.muB.cols}:${m.parts.basisB.cols}`,
    (m): Family => ({ members: [], positions: { b: m.out, a: m.in }, r: m.parts.muB.cols, p: m.parts.basisB.cols / m.parts.muB.cols }),
  );

/** Task `task`'s factors for every module it targets, by module index. */
export async function factorTaskFactors(merge: ReversibleMerge, task: number): Promise<Map<number, Factors32>> {
  const n = merge.tasks.length;
  const targets = new Set(merge.tasks[task].paths);
  const out = new Map<number, Factors32>();
  for (const family of familiesOfMerge(merge)) {
    const members = family.members.filter((i) => targets.has(merge.modules[i].path));
    if (members.length === 0) continue;
    const { r, p, positions } = family;
    const L = family.members.length;
    // The runtime's size threshold still decides (the tests switch it to run both paths); a family whose stacks
    // would pass what one WebAssembly memory holds goes module by module in JS.
    const bytes = 4 * L * (positions.b + positions.a) * (2 * r + p * r + n * p);
    if (!onRuntime(L * (positions.b + positions.a), r, p) || bytes > REVERT_KERNEL_MAX_BYTES) {
      for (const i of members) out.set(i, rebuildFactor32(merge.modules[i], task, n));
      continue;
    }
    family.kernel ??= kernelOf(merge, family, n);
    const { k, sides } = await family.kernel;
    const b = runSide(k, sides.b, L, positions.b, r, p, n, task, false);
    const a = runSide(k, sides.a, L, positions.a, r, p, n, task, true);
    for (const i of members) {
      const l = family.members.indexOf(i);
      out.set(i, {
        b: b.subarray(l * positions.b * r, (l + 1) * positions.b * r),
        a: a.subarray(l * r * positions.a, (l + 1) * r * positions.a),
        rank: r,
      });
    }
  }
  return out;
}

/** A kernel instance whose memory holds the family's parts in float32, stacked by layer, and room for one task's output. */
async function kernelOf(merge: ReversibleMerge, family: Family, n: number): Promise<FamilyKernel> {
  const k = (await instantiateWat('factor-revert-kernels.wat')) as RevertExports;
  const L = family.members.length;
  const { r, p } = family;
  let end = 0;
  const take = (floats: number) => {
    const at = end;
    end += 4 * floats;
    return at;
  };
  const layout = (P: number): SideLayout => ({
    mu: take(L * P * r),
    basis: take(L * P * p * r),
    coef: take(L * P * n * p),
    out: take(L * P * r),
  });
  const sides = { b: layout(family.positions.b), a: layout(family.positions.a) };
  growTo(k.memory, end);
  const parts = family.members.map((i) => merge.modules[i].parts);
  for (const [side, suffix] of [
    ['b', 'B'],
    ['a', 'A'],
  ] as const)
    for (const name of ['mu', 'basis', 'coef'] as const) {
      parts.forEach((x, l) => {
        const m = x[`${name}${suffix}`];
        const size = m.rows * m.cols;
        new Float32Array(k.memory.buffer, sides[side][name] + 4 * l * size, size).set(float32Values(m));
      });
    }
  return { k, sides };
}

/**
 * A part's values for a float32 stack: as built (float32), else a decoded merge's float64 part by its kept float32
 * copy where it has one, else as it is (converted by the stack's `set`; the same values).
 */
function float32Values(m: PartMat): Float32Array | Float64Array {
  if (m.data instanceof Float32Array) return m.data;
  const wide = { rows: m.rows, cols: m.cols, data: m.data };
  return hasFloat32Twin(wide) ? float32Of(wide) : m.data;
}

/** μ + Σⱼ Vⱼ·C[task, j] per position; B's side as [L, P, r], A's side transposed to [L, r, P] (a copy: the next revert reuses the memory). */
function runSide(
  k: RevertExports,
  at: SideLayout,
  L: number,
  P: number,
  r: number,
  p: number,
  n: number,
  task: number,
  transposed: boolean,
): Float32Array {
  k.rebuild(at.mu, at.basis, at.coef, at.out, L, P, r, p, n, task, transposed ? 1 : 0);
  return new Float32Array(k.memory.buffer, at.out, L * P * r).slice();
}
