/**
 * A task of a factor-space merge ('factor', 'factor_svd') rebuilt straight into the float32 factors an adapter
 * holds: per position (row of B, column of A) μ + V·C[:, task]. A revert reads every stored basis value once
 * (~25M on the 135M shape) for a few multiply-adds each, which float64 JS did at ~3 ns a value. So a module
 * family (the modules of one shape and rank across layers) runs as one graph per side on the runtime, over float32 stacks of its parts
 * made once per merge and kept: the task's coefficients gathered, a broadcast multiply and a sum over the basis
 * (A's side transposed into A's layout in the same graph). A family too small for a session run stays in float64
 * JS (rebuildFactor32), which keeps the test fixtures exact.
 */
import { Graph } from '../engine/graph.ts';
import { createSession, f32, i64, type ort } from '../engine/runtime.ts';
import { float32Of } from './float32-twin.ts';
import { onRuntime } from './gemm-runner.ts';
import { familiesOf } from './module-families.ts';
import { rebuildFactor32 } from './reversible-factor.ts';
import type { ReversibleMerge } from './reversible-types.ts';
import type { Factors32 } from './shared-revert.ts';

type FactorSide = 'b' | 'a';

interface Family {
  /** Indices into merge.modules, one per layer, all of one shape and rank. */
  members: number[];
  positions: { b: number; a: number };
  r: number;
  p: number;
  /** Per side: μ [L, P, r], V [L, P, p, r], C [L, P, n, p], made on the first revert that runs the family on the runtime. */
  stacks?: Record<FactorSide, { mu: Float32Array; basis: Float32Array; coef: Float32Array }>;
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
    if (!onRuntime(L * (positions.b + positions.a), r, p)) {
      for (const i of members) out.set(i, rebuildFactor32(merge.modules[i], task, n));
      continue;
    }
    family.stacks ??= { b: stackSide(merge, family, 'b'), a: stackSide(merge, family, 'a') };
    const b = await runSide('b', family.stacks.b, L, positions.b, r, p, n, task);
    const a = await runSide('a', family.stacks.a, L, positions.a, r, p, n, task);
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

function stackSide(merge: ReversibleMerge, family: Family, side: FactorSide) {
  const parts = family.members.map((i) => merge.modules[i].parts);
  const stackOf = (name: string) => {
    const mats = parts.map((x) => x[name]);
    const size = mats[0].rows * mats[0].cols;
    const data = new Float32Array(size * mats.length);
    mats.forEach((m, l) => data.set(float32Of(m), l * size));
    return data;
  };
  const suffix = side === 'b' ? 'B' : 'A';
  return { mu: stackOf(`mu${suffix}`), basis: stackOf(`basis${suffix}`), coef: stackOf(`coef${suffix}`) };
}

const sessions = new Map<FactorSide, Promise<ort.InferenceSession>>();

/** μ + Σⱼ Vⱼ·C[task, j] per position; B's side as [L, P, r], A's side transposed to [L, r, P]. */
function graphOf(side: FactorSide): Uint8Array {
  const g = new Graph(`factor_revert_${side}`);
  const mu = g.input('mu', 'float32', ['L', 'P', 'r']);
  const basis = g.input('basis', 'float32', ['L', 'P', 'p', 'r']);
  const coef = g.input('coef', 'float32', ['L', 'P', 'n', 'p']);
  const task = g.input('task', 'int64', []);
  const [c] = g.node('Gather', [coef, task], [{ type: 'float32', shape: ['L', 'P', 'p'] }], { axis: 2 });
  const [c4] = g.node('Unsqueeze', [c, g.ints([2])], [{ type: 'float32', shape: ['L', 'P', 1, 'p'] }]);
  const [prod] = g.node('MatMul', [c4, basis], [{ type: 'float32', shape: ['L', 'P', 1, 'r'] }]);
  const [sum] = g.node('Squeeze', [prod, g.ints([2])], [{ type: 'float32', shape: ['L', 'P', 'r'] }]);
  const [rows] = g.node('Add', [sum, mu], [{ type: 'float32', shape: ['L', 'P', 'r'] }]);
  const result = side === 'b' ? rows : g.node('Transpose', [rows], [{ type: 'float32', shape: ['L', 'r', 'P'] }], { perm: [0, 2, 1] })[0];
  g.output(result, 'out');
  return g.toOnnx();
}

async function runSide(
  side: FactorSide,
  stack: { mu: Float32Array; basis: Float32Array; coef: Float32Array },
  L: number,
  P: number,
  r: number,
  p: number,
  n: number,
  task: number,
): Promise<Float32Array> {
  let session = sessions.get(side);
  if (!session) {
    session = createSession(graphOf(side), { spinning: false });
    sessions.set(side, session);
  }
  const out = await (await session).run({
    mu: f32(stack.mu, [L, P, r]),
    basis: f32(stack.basis, [L, P, p, r]),
    coef: f32(stack.coef, [L, P, n, p]),
    task: i64([task], []),
  });
  return out.out.data as Float32Array;
}
