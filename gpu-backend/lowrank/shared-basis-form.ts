/**
 * The serving form of jointly compressed adapters: an `rmm_shared` reversible merge or a joint compression,
 * written as the plain shared basis (serving-form.ts) the engine feeds: V, Uᵀ and each task's Σᵢᵀ in float32.
 */
import { invalid } from '../../contracts/formats/errors.ts';
import type { Projection } from '../../contracts/formats/hf-config.ts';
import type { JointBasis } from './joint.ts';
import type { Mat } from './linalg.ts';
import type { ReversibleMerge } from './reversible.ts';
import type { SharedBasis, SharedBasisModule } from './serving-form.ts';
import { float64Parts } from './reversible-types.ts';

const fromMerges = new WeakMap<object, SharedBasis>();

/** The shared basis of an `rmm_shared` (construction 'shared') reversible merge, built once per decoded merge. */
export function sharedBasisOfMerge(merge: ReversibleMerge): SharedBasis {
  if (merge.construction !== 'shared')
    invalid('not_shared_basis', `a ${merge.construction} reversible merge has no shared basis; only 'shared' ones do.`, 'model');
  let basis = fromMerges.get(merge);
  if (!basis) {
    const n = merge.tasks.length;
    const modules = merge.modules.map((m) => {
      const { u, v, cores, coreB, coreA } = float64Parts(m);
      const k = u.cols;
      // Σᵢ = Pᵢ·Qᵢᵀ where the merge kept the core factored (Pᵢ, Qᵢ k×r).
      const core = (i: number, row: number, col: number) => {
        if (cores) return cores.data[i * k * k + row * k + col];
        const r = coreB.cols / k;
        let s = 0;
        for (let j = 0; j < r; j++) s += coreB.data[i * k * r + row * r + j] * coreA.data[i * k * r + col * r + j];
        return s;
      };
      return moduleOf(m, u, v, n, (i) => merge.tasks[i].paths.includes(m.path), core);
    });
    basis = { baseModel: merge.baseModel, tasks: merge.tasks.map((t) => t.name), modules };
    fromMerges.set(merge, basis);
  }
  return basis;
}

/** The shared basis of a joint compression (lowrank/joint.ts), built once per basis. */
export function sharedBasisOfJoint(joint: JointBasis): SharedBasis {
  let basis = fromMerges.get(joint);
  if (!basis) {
    const modules = joint.modules.map((m) => {
      const k = m.u.cols;
      return moduleOf(
        m,
        m.u,
        m.v,
        joint.tasks.length,
        (i) => joint.tasks[i].paths.includes(m.path),
        (i, row, col) => m.cores.data[i * k * k + row * k + col],
      );
    });
    basis = { baseModel: joint.baseModel, tasks: joint.tasks.map((t) => t.name), modules };
    fromMerges.set(joint, basis);
  }
  return basis;
}

function moduleOf(
  slot: { layer: number; projection: Projection; path: string; in: number; out: number },
  u: Mat,
  v: Mat,
  n: number,
  targets: (task: number) => boolean,
  core: (task: number, row: number, col: number) => number,
): SharedBasisModule {
  const k = u.cols;
  const uT = new Float32Array(k * slot.out);
  for (let o = 0; o < slot.out; o++) for (let j = 0; j < k; j++) uT[j * slot.out + o] = u.data[o * k + j];
  const coresT = new Float32Array(n * k * k);
  for (let i = 0; i < n; i++) {
    if (!targets(i)) continue;
    for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) coresT[i * k * k + c * k + r] = core(i, r, c);
  }
  const { layer, projection, path } = slot;
  return { layer, projection, path, in: slot.in, out: slot.out, k, v: Float32Array.from(v.data), uT, coresT };
}
