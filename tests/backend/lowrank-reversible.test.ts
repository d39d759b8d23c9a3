/**
 * Reversible merges: every construction rebuilds every task exactly at p = n, reverts are ordinary PEFT adapters,
 * the mean model is the mean task delta, the encoded merge round-trips, and on the six default task adapters the
 * shared-basis construction at half the storage beats truncating each adapter to half its rank.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { describe, expect, test } from 'vitest';
import { loadLoraAdapter, type LoraAdapter } from '../../contracts/formats/adapter.ts';
import { modulePath, parseModelConfig, projectionShape, type ModelConfig, type Projection } from '../../contracts/formats/hf-config.ts';
import { parseLoraConfig } from '../../contracts/formats/peft-config.ts';
import { decodeSafetensors, encodeSafetensors } from '../../contracts/formats/safetensors.ts';
import { readAdapterFolder } from '../../gpu-backend/formats/files.ts';
import { svdOfProduct } from '../../gpu-backend/lowrank/linalg.ts';
import type { Member } from '../../gpu-backend/lowrank/members.ts';
import { float32Of } from '../../gpu-backend/lowrank/float32-twin.ts';
import { setRuntimeMinMacs } from '../../gpu-backend/lowrank/gemm-runner.ts';
import { adapterFiles, adapterFromFactors, deltaFactors } from '../../gpu-backend/lowrank/peft-adapter.ts';
import {
  buildReversibleMerge,
  CONSTRUCTIONS,
  decodeReversibleMerge,
  encodeReversibleMerge,
  meanAdapter,
  revertTask,
  reversibleReport,
  taskFactors,
  type Construction,
  type ReversibleMerge,
} from '../../gpu-backend/lowrank/reversible.ts';
import { memberSquaredNorms } from '../../gpu-backend/lowrank/member-norms.ts';
import { buildFactorModules, FACTOR_POOL_MIN, factorModule } from '../../gpu-backend/lowrank/reversible-factor.ts';
import { buildSharedModules } from '../../gpu-backend/lowrank/reversible-shared.ts';
import { type AlignedModule, alignMembers, float64Parts, fullFloats, slotOf } from '../../gpu-backend/lowrank/reversible-types.ts';
import { FIXTURE, invalidInputOf, randomMat } from './helpers.ts';

const CONFIG: ModelConfig = parseModelConfig(JSON.parse(await readFile(join(FIXTURE, 'base', 'config.json'), 'utf8')));

/** A random adapter of the fixture's shape: rank r on the given projections of both layers. */
function randomAdapter(r: number, seed: number, projections: Projection[]): LoraAdapter {
  const rng = xoroshiro128plus(seed);
  const next = () => uniformFloat64(rng) - 0.5;
  const config = parseLoraConfig({ r, lora_alpha: 2 * r, target_modules: projections });
  const modules = [];
  for (let layer = 0; layer < CONFIG.numLayers; layer++) {
    for (const p of projections) {
      const { in: fanIn, out } = projectionShape(CONFIG, p);
      modules.push({
        layer,
        projection: p,
        path: modulePath(layer, p),
        rank: r,
        scale: 2,
        in: fanIn,
        out,
        a: Float32Array.from({ length: r * fanIn }, next),
        b: Float32Array.from({ length: out * r }, () => next() * 0.1),
      });
    }
  }
  return { config, modules };
}

/** Three tasks with different ranks and one that lacks a module (zero-padded in factor space). */
function mixedMembers(): Member[] {
  return [
    { name: 'a', baseModel: 'tiny', adapter: randomAdapter(4, 1, ['q_proj', 'v_proj', 'gate_proj']) },
    { name: 'b', baseModel: 'tiny', adapter: randomAdapter(6, 2, ['q_proj', 'v_proj', 'gate_proj']) },
    { name: 'c', baseModel: 'tiny', adapter: randomAdapter(4, 3, ['q_proj', 'gate_proj']) },
  ];
}

/** Dense ΔW = scale·B·A of every module, by path. */
function deltas(adapter: LoraAdapter): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const m of adapter.modules) {
    const d = new Float64Array(m.out * m.in);
    for (let o = 0; o < m.out; o++) {
      for (let k = 0; k < m.rank; k++) {
        const b = m.scale * m.b[o * m.rank + k];
        for (let i = 0; i < m.in; i++) d[o * m.in + i] += b * m.a[k * m.in + i];
      }
    }
    out.set(m.path, d);
  }
  return out;
}

/** ‖got − want‖/‖want‖ over all modules; both must hold the same modules. */
function relativeError(got: Map<string, Float64Array>, want: Map<string, Float64Array>): number {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  let diff = 0;
  let norm = 0;
  for (const [path, w] of want) {
    const h = got.get(path)!;
    for (let i = 0; i < w.length; i++) {
      diff += (h[i] - w[i]) ** 2;
      norm += w[i] ** 2;
    }
  }
  return Math.sqrt(diff / norm);
}

function meanDeltas(members: Member[]): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const m of members) {
    for (const [path, d] of deltas(m.adapter)) {
      const acc = out.get(path) ?? new Float64Array(d.length);
      for (let i = 0; i < d.length; i++) acc[i] += d[i] / members.length;
      out.set(path, acc);
    }
  }
  return out;
}

describe.each(CONSTRUCTIONS)('construction %s', (construction: Construction) => {
  const members = mixedMembers();

  test('at p = n every task is rebuilt exactly, as an adapter of its own modules that loads as PEFT', async () => {
    const merge = await buildReversibleMerge(members, { construction, basisSize: members.length });
    const report = await reversibleReport(merge, members);
    for (const t of report.tasks) expect(t.relativeError).toBeLessThan(1e-6);
    for (const m of members) {
      const reverted = await revertTask(merge, m.name);
      expect(relativeError(deltas(reverted), deltas(m.adapter))).toBeLessThan(1e-6);
      // Exported and loaded back through the same path a user's upload takes.
      const files = adapterFiles(reverted);
      const loaded = loadLoraAdapter(JSON.parse(files.config), CONFIG, decodeSafetensors(files.weights).tensors);
      expect(relativeError(deltas(loaded), deltas(m.adapter))).toBeLessThan(1e-6);
    }
  });

  test('the mean model is the mean task delta (exact at p = n)', async () => {
    const merge = await buildReversibleMerge(members, { construction, basisSize: members.length });
    expect(relativeError(deltas(await meanAdapter(merge)), meanDeltas(members))).toBeLessThan(1e-6);
  });

  test('a smaller basis stores less and errs more, and the encoded merge rebuilds the same tasks', async () => {
    const small = await reversibleReport(await buildReversibleMerge(members, { construction, basisSize: 1 }), members);
    const large = await reversibleReport(await buildReversibleMerge(members, { construction, basisSize: 2 }), members);
    expect(small.storage).toBeLessThan(large.storage);
    const mean = (r: typeof small) => r.tasks.reduce((s, t) => s + t.relativeError, 0) / r.tasks.length;
    expect(mean(small)).toBeGreaterThan(mean(large));
    expect(mean(small)).toBeGreaterThan(0.01);

    const merge = await buildReversibleMerge(members, { construction, basisSize: 2 });
    const { manifest, tensors } = encodeReversibleMerge(merge);
    const bytes = encodeSafetensors(tensors);
    const back = decodeReversibleMerge(JSON.parse(JSON.stringify(manifest)), decodeSafetensors(bytes).tensors);
    for (const m of members)
      expect(relativeError(deltas(await revertTask(back, m.name)), deltas(await revertTask(merge, m.name)))).toBeLessThan(1e-5);
    expect((await await reversibleReport(back, members)).storage).toBeCloseTo((await await reversibleReport(merge, members)).storage, 12);
  });
});

test('a shared merge reverts a module family per run on the runtime, or in float64 JS, to what per-module products give', async () => {
  // Three tasks of ranks 4, 6, 4 (one lacking v_proj): at p = 1 and 2 the sizes differ between layers (the
  // family's bases are zero-padded), at p = 3 the cores are full and re-split to each task's own rank.
  const members = mixedMembers();
  const perModule = (merge: ReversibleMerge, name: string) =>
    taskFactors(
      merge,
      merge.tasks.findIndex((t) => t.name === name),
    );
  let padded = false;
  for (const p of [1, 2, 3]) {
    const merge = await buildReversibleMerge(members, { construction: 'shared', basisSize: p });
    for (const proj of new Set(merge.modules.map((m) => m.projection)))
      padded ||= new Set(merge.modules.filter((m) => m.projection === proj).map((m) => m.parts.u.cols)).size > 1;
    for (const minMacs of [0, Number.POSITIVE_INFINITY]) {
      const was = setRuntimeMinMacs(minMacs);
      try {
        for (const m of members) {
          const want = await perModule(merge, m.name);
          const got = await revertTask(merge, m.name);
          expect(got.modules.map((x) => [x.path, x.rank])).toEqual(want.map((f) => [f.path, f.a.rows]));
          expect(relativeError(deltas(got), deltas(adapterFromFactors(want, 'tiny')))).toBeLessThan(minMacs === 0 ? 1e-6 : 1e-12);
        }
      } finally {
        setRuntimeMinMacs(was);
      }
    }
  }
  expect(padded).toBe(true);
});

test('a shared merge reads each member as stored, a module at a time, and never widens a whole member to float64', async () => {
  // Widening every member up front held twice the members' bytes for the whole merge (most of an 8B merge's
  // peak). Here reading `factors` throws, so the merge must work from the stored float32 modules, and it must
  // give bit for bit what the same merge over the widened factors gives.
  const members = mixedMembers();
  const n = members.length;
  const aligned = alignMembers(members);
  const widened = aligned.map((slot) => ({ ...slotOf(slot), factors: slot.factors }));
  const guarded = aligned.map((slot) =>
    Object.defineProperties(slotOf(slot) as AlignedModule, {
      stored: { value: slot.stored },
      factors: {
        get: () => {
          throw new Error(`${slot.path}: the merge widened every member`);
        },
      },
    }),
  );
  const full = fullFloats(members);
  for (const p of [2, n]) {
    const fromStored = await buildSharedModules(guarded, p, full);
    const fromWidened = await buildSharedModules(widened, p, full);
    expect(fromStored).toEqual(fromWidened);
  }
});

test('a shared merge built on the runtime keeps no float32 copy of its bases beside its parts', async () => {
  // The runtime gives U and V in float32; keeping that copy with every module was a third more of what a merge
  // holds until it is stored. A revert stacks the bases in float32 per family when it first needs them.
  const was = setRuntimeMinMacs(0);
  try {
    const merge = await buildReversibleMerge(mixedMembers(), { construction: 'shared', basisSize: 2 });
    for (const m of merge.modules)
      for (const part of [float64Parts(m).u, float64Parts(m).v]) expect(float32Of(part)).not.toBe(float32Of(part));
  } finally {
    setRuntimeMinMacs(was);
  }
});

test("the members' squared norms from float32 Grams batched per module family on the runtime equal the float64 ones (mixed ranks, a member lacking a module)", async () => {
  const aligned = alignMembers(mixedMembers());
  const inJs = setRuntimeMinMacs(Number.POSITIVE_INFINITY);
  const want = await memberSquaredNorms(aligned);
  setRuntimeMinMacs(0);
  try {
    const got = await memberSquaredNorms(aligned);
    // A family's modules in one batched run give each module what a run of its own gives.
    const alone = await Promise.all(aligned.map(async (slot) => (await memberSquaredNorms([slot]))[0]));
    expect(got).toEqual(alone);
    expect(want.some((norms) => norms.includes(0))).toBe(true);
    got.forEach((norms, m) =>
      norms.forEach((x, i) => {
        expect(x === 0).toBe(want[m][i] === 0);
        expect(Math.abs(x - want[m][i])).toBeLessThanOrEqual(1e-6 * want[m][i]);
      }),
    );
  } finally {
    setRuntimeMinMacs(inJs);
  }
});

test('a factor-space merge reverts a module family per run on the runtime, or in float64 JS, to the per-position rebuild', async () => {
  const members = mixedMembers();
  for (const construction of ['factor', 'factor_svd'] as const) {
    for (const p of [1, 3]) {
      const merge = await buildReversibleMerge(members, { construction, basisSize: p });
      for (const minMacs of [0, Number.POSITIVE_INFINITY]) {
        const was = setRuntimeMinMacs(minMacs);
        try {
          for (const [i, m] of members.entries()) {
            const want = await taskFactors(merge, i);
            const got = await revertTask(merge, m.name);
            expect(got.modules.map((x) => [x.path, x.rank])).toEqual(want.map((f) => [f.path, f.a.rows]));
            expect(relativeError(deltas(got), deltas(adapterFromFactors(want, 'tiny')))).toBeLessThan(minMacs === 0 ? 1e-6 : 1e-12);
          }
        } finally {
          setRuntimeMinMacs(was);
        }
      }
    }
  }
});

test('a factor-space merge keeps its parts in float32, on a thread and in place, as its artifact stores them: decoded, the same values and reverts', async () => {
  const members = mixedMembers();
  for (const construction of ['factor', 'factor_svd'] as const) {
    const merge = await buildReversibleMerge(members, { construction, basisSize: 2 });
    const { manifest, tensors } = encodeReversibleMerge(merge);
    const back = decodeReversibleMerge(JSON.parse(JSON.stringify(manifest)), decodeSafetensors(encodeSafetensors(tensors)).tensors);
    merge.modules.forEach((m, i) => {
      for (const [name, part] of Object.entries(m.parts)) {
        expect(part.data).toBeInstanceOf(Float32Array);
        expect(Float64Array.from(part.data)).toEqual(back.modules[i].parts[name].data);
      }
    });
    for (const m of members) expect(await revertTask(back, m.name)).toEqual(await revertTask(merge, m.name));
  }
  // A module of FACTOR_POOL_MIN positions is fitted on a float64 thread, into the merge's shared parts.
  const out = FACTOR_POOL_MIN;
  const factor = (r: number, seed: number) => ({ ...slot, b: randomMat(out, r, seed), a: randomMat(r, 8, seed + 100) });
  const slot = { layer: 0, projection: 'q_proj' as const, path: modulePath(0, 'q_proj'), out, in: 8 };
  const aligned: AlignedModule = { ...slot, factors: [factor(4, 1), factor(3, 2), factor(4, 3)] };
  const [threaded] = await buildFactorModules([aligned], 2, false);
  for (const part of Object.values(threaded.parts)) expect(part.data).toBeInstanceOf(Float32Array);
  expect(threaded.parts).toEqual(factorModule(aligned, 2, false).parts);
});

test('the published factor construction stores (p(r+n)+r)/(rn) of the n adapters per position', async () => {
  const members = [1, 2, 3, 4].map((seed) => ({
    name: `t${seed}`,
    baseModel: 'tiny',
    adapter: randomAdapter(8, seed, ['q_proj', 'down_proj']),
  }));
  const [n, r] = [4, 8];
  for (const p of [1, 2, 4]) {
    const report = await reversibleReport(await buildReversibleMerge(members, { construction: 'factor', basisSize: p }), members);
    expect(report.storage).toBeCloseTo((p * (r + n) + r) / (r * n), 12);
  }
});

test('bad input is refused with a message that says what to change', async () => {
  const members = mixedMembers();
  expect(await invalidInputOf(() => buildReversibleMerge(members, { construction: 'factor', basisSize: 0 }))).toMatch(
    /^bad_basis_size: .*from 1 to 3/,
  );
  expect(await invalidInputOf(() => buildReversibleMerge(members, { construction: 'factor', basisSize: 4 }))).toMatch(/^bad_basis_size/);
  expect(await invalidInputOf(() => buildReversibleMerge(members, { construction: 'delta', basisSize: 1.5 }))).toMatch(/^bad_basis_size/);
  expect(await invalidInputOf(() => buildReversibleMerge([], { construction: 'factor', basisSize: 1 }))).toMatch(/^bad_adapters/);
  expect(await invalidInputOf(() => buildReversibleMerge([members[0], members[0]], { construction: 'factor', basisSize: 1 }))).toMatch(
    /^duplicate_adapter: adapter "a" is listed twice/,
  );
  expect(
    await invalidInputOf(() =>
      buildReversibleMerge([members[0], { ...members[1], baseModel: 'other' }], { construction: 'shared', basisSize: 1 }),
    ),
  ).toMatch(/^base_model_mismatch/);
  expect(await invalidInputOf(() => buildReversibleMerge(members, { construction: 'rmm' as Construction, basisSize: 1 }))).toMatch(
    /^bad_construction: .*factor, factor_svd, delta, shared/,
  );
  const broken = randomAdapter(4, 9, ['q_proj']);
  broken.modules[1].b[3] = Number.NaN;
  expect(
    await invalidInputOf(() =>
      buildReversibleMerge([members[0], { name: 'nan', baseModel: 'tiny', adapter: broken }], { construction: 'factor', basisSize: 1 }),
    ),
  ).toMatch(/^adapter_not_finite/);
  const merge = await buildReversibleMerge(members, { construction: 'factor', basisSize: 1 });
  expect(await invalidInputOf(() => revertTask(merge, 'd'))).toBe('unknown_task: "d" is not a member; the members are "a", "b", "c".');
});

test('a NaN or ±Inf in any member is refused before a factor-space merge returns, with where it is, on a thread or in place, in WebAssembly or JavaScript', async () => {
  /** n tasks of rank r on one module of out×in (320 + 64 positions: fitted on a float64 thread; 40 + 24: in place). */
  const tasks = (n: number, r: number, out: number, fanIn: number): Member[] =>
    Array.from({ length: n }, (_, t) => {
      const rng = xoroshiro128plus(50 + t);
      const next = () => uniformFloat64(rng) - 0.5;
      const path = modulePath(0, 'q_proj');
      const module = { layer: 0, projection: 'q_proj' as const, path, rank: r, scale: 2, in: fanIn, out };
      const a = Float32Array.from({ length: r * fanIn }, next);
      const b = Float32Array.from({ length: out * r }, next);
      return {
        name: `t${t}`,
        baseModel: 'tiny',
        adapter: { config: parseLoraConfig({ r, lora_alpha: 2 * r, target_modules: ['q_proj'] }), modules: [{ ...module, a, b }] },
      };
    });
  const cases: [number, number, number, number, number][] = [
    // n, r, p, out, in: n ≤ r and p < n (the kernels), p = n, n > r (JavaScript)
    [3, 4, 2, 320, 64],
    [3, 4, 2, 40, 24],
    [3, 4, 3, 320, 64],
    [4, 2, 2, 40, 24],
  ];
  for (const [n, r, p, out, fanIn] of cases) {
    expect(await invalidInputOf(() => buildReversibleMerge(tasks(n, r, out, fanIn), { construction: 'factor', basisSize: p }))).toBe(
      'no error',
    );
    for (const bad of [Number.NaN, Infinity, -Infinity])
      for (const [which, at] of [
        ['b', out * r - 1],
        ['a', 5],
      ] as const) {
        const members = tasks(n, r, out, fanIn);
        members[n - 1].adapter.modules[0][which][at] = bad;
        const message = `adapter_not_finite: adapter "t${n - 1}": ${modulePath(0, 'q_proj')}.lora_${which.toUpperCase()} holds ${bad} at index ${at}; adapter weights must be finite.`;
        expect(await invalidInputOf(() => buildReversibleMerge(members, { construction: 'factor', basisSize: p }))).toBe(message);
        expect(await invalidInputOf(() => buildReversibleMerge(members, { construction: 'factor_svd', basisSize: p }))).toBe(message);
      }
  }
});

describe('the six default task adapters', async () => {
  const MODEL = join(import.meta.dirname, '..', '..', 'models', 'rankgate-tiny');
  const cfg = parseModelConfig(JSON.parse(await readFile(join(MODEL, 'base', 'config.json'), 'utf8')));
  const names = ['reverse_words', 'larger', 'date_to_us', 'acronym', 'snake_to_camel', 'remove_vowels'];
  const members: Member[] = await Promise.all(
    names.map(async (name) => ({ name, baseModel: 'rankgate-tiny', adapter: await readAdapterFolder(join(MODEL, 'adapters', name), cfg) })),
  );

  /** Relative error of each adapter truncated to rank `keep` in every module (storage keep/r). */
  const truncated = (keep: number) =>
    members.map((m) => {
      let err = 0;
      let norm = 0;
      for (const mod of m.adapter.modules) {
        const f = deltaFactors(mod);
        svdOfProduct(f.b, f.a).s.forEach((s, j) => {
          norm += s * s;
          if (j >= keep) err += s * s;
        });
      }
      return Math.sqrt(err / norm);
    });

  test('the shared basis at half the storage beats truncating each adapter to half its rank, task by task on average and in the worst task', async () => {
    const report = await reversibleReport(await buildReversibleMerge(members, { construction: 'shared', basisSize: 3 }), members);
    const errors = report.tasks.map((t) => t.relativeError);
    const baseline = truncated(4);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    console.log(
      `shared p=3: storage ${report.storage.toFixed(3)}, errors ${errors.map((e) => e.toFixed(3)).join(' ')}; rank-4 truncation: ${baseline.map((e) => e.toFixed(3)).join(' ')}`,
    );
    expect(report.storage).toBeLessThanOrEqual(0.5);
    expect(mean(errors)).toBeLessThan(mean(baseline));
    expect(Math.max(...errors)).toBeLessThan(Math.max(...baseline));
  });

  test('as published, p = 1 in factor space loses most of each task; the SVD form loses less', async () => {
    const factor = await reversibleReport(await buildReversibleMerge(members, { construction: 'factor', basisSize: 1 }), members);
    const svdForm = await reversibleReport(await buildReversibleMerge(members, { construction: 'factor_svd', basisSize: 1 }), members);
    for (const t of factor.tasks) expect(t.relativeError).toBeGreaterThan(0.5);
    factor.tasks.forEach((t, i) => expect(svdForm.tasks[i].relativeError).toBeLessThan(t.relativeError));
  });
});
