/**
 * Joint compression U·Σᵢ·Vᵀ: exact at k = Σ ranks, orthonormal shared bases, alternating steps never worse than
 * the closed form, an artifact that round-trips through safetensors, and clear errors for bad input.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { describe, expect, test } from 'vitest';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { modulePath, parseModelConfig, projectionShape, type Projection } from '../../contracts/formats/hf-config.ts';
import { parseLoraConfig } from '../../contracts/formats/peft-config.ts';
import { decodeSafetensors, encodeSafetensors } from '../../contracts/formats/safetensors.ts';
import { matmulTN, type Mat } from '../../gpu-backend/lowrank/linalg.ts';
import { decodeJointBasis, encodeJointBasis, jointAdapter, jointCompress, jointReport } from '../../gpu-backend/lowrank/joint.ts';
import type { Member } from '../../gpu-backend/lowrank/members.ts';
import { FIXTURE, invalidInputOf } from './helpers.ts';

const CONFIG = parseModelConfig(JSON.parse(await readFile(join(FIXTURE, 'base', 'config.json'), 'utf8')));

/** A random adapter of the fixture's shape: rank r on the given projections of both layers. */
function randomAdapter(r: number, seed: number, projections: Projection[]): LoraAdapter {
  const rng = xoroshiro128plus(seed);
  const next = () => uniformFloat64(rng) - 0.5;
  const modules = [];
  for (let layer = 0; layer < CONFIG.numLayers; layer++) {
    for (const p of projections) {
      const { in: fanIn, out } = projectionShape(CONFIG, p);
      const a = Float32Array.from({ length: r * fanIn }, next);
      const b = Float32Array.from({ length: out * r }, next);
      modules.push({ layer, projection: p, path: modulePath(layer, p), rank: r, scale: 2, in: fanIn, out, a, b });
    }
  }
  return { config: parseLoraConfig({ r, lora_alpha: 2 * r, target_modules: projections }), modules };
}

const members: Member[] = [
  { name: 'a', baseModel: 'tiny', adapter: randomAdapter(4, 11, ['q_proj', 'k_proj', 'down_proj']) },
  { name: 'b', baseModel: 'tiny', adapter: randomAdapter(4, 12, ['q_proj', 'k_proj', 'down_proj']) },
  { name: 'c', baseModel: 'tiny', adapter: randomAdapter(2, 13, ['q_proj', 'down_proj']) },
];
const mean = (r: { tasks: { relativeError: number }[] }) => r.tasks.reduce((s, t) => s + t.relativeError, 0) / r.tasks.length;

test('k = sum of ranks rebuilds every adapter exactly, with orthonormal shared bases', async () => {
  const basis = await jointCompress(members, { k: 10 });
  for (const t of jointReport(basis, members).tasks) expect(t.relativeError).toBeLessThan(1e-6);
  for (const m of basis.modules) {
    for (const q of [m.u, m.v]) {
      const g = matmulTN(q, q);
      for (let i = 0; i < g.rows; i++) for (let j = 0; j < g.cols; j++) expect(g.data[i * g.cols + j]).toBeCloseTo(i === j ? 1 : 0, 9);
    }
  }
  const c = jointAdapter(basis, 'c');
  expect(c.modules.map((m) => m.path)).toEqual(members[2].adapter.modules.map((m) => m.path));
});

describe('below full size', () => {
  test('error falls as k grows, and alternating steps never do worse than the closed form', async () => {
    const errors: number[] = [];
    for (const k of [1, 3, 6]) errors.push(mean(jointReport(await jointCompress(members, { k }), members)));
    expect(errors[0]).toBeGreaterThan(errors[1]);
    expect(errors[1]).toBeGreaterThan(errors[2]);
    const closed = jointReport(await jointCompress(members, { k: 3, iters: 0 }), members);
    const refined = jointReport(await jointCompress(members, { k: 3, iters: 5 }), members);
    // The fit maximises the task-balanced captured energy Σ‖UᵀΔWᵢV‖²/‖ΔWᵢ‖² = Σ (1 − errᵢ²).
    const captured = (r: typeof closed) => r.tasks.reduce((s, t) => s + 1 - t.relativeError ** 2, 0);
    expect(captured(refined)).toBeGreaterThanOrEqual(captured(closed) - 1e-12);
  });

  test('storage counts U, V and the cores against keeping every adapter; the adapter has rank k', async () => {
    const basis = await jointCompress(members, { k: 3 });
    let stored = 0;
    let full = 0;
    for (const m of basis.modules) stored += 3 * (m.out + m.in) + 3 * 9;
    for (const m of members) for (const mod of m.adapter.modules) full += mod.rank * (mod.out + mod.in);
    expect(jointReport(basis, members).storage).toBeCloseTo(stored / full, 12);
    expect(jointAdapter(basis, 'a').modules.every((m) => m.rank === 3)).toBe(true);
  });

  test('the encoded basis round-trips through safetensors', async () => {
    const basis = await jointCompress(members, { k: 3 });
    const { manifest, tensors } = encodeJointBasis(basis);
    const back = decodeJointBasis(JSON.parse(JSON.stringify(manifest)), decodeSafetensors(encodeSafetensors(tensors)).tensors);
    const a = jointReport(basis, members);
    const b = jointReport(back, members);
    a.tasks.forEach((t, i) => expect(b.tasks[i].relativeError).toBeCloseTo(t.relativeError, 5));
    expect(b.storage).toBe(a.storage);
  });
});

test('a storage budget is spent per module by spectrum: within budget, and no worse than one k for all at that storage', async () => {
  const uniform = jointReport(await jointCompress(members, { k: 3 }), members);
  const budgeted = jointReport(await jointCompress(members, { storage: uniform.storage }), members);
  expect(budgeted.storage).toBeLessThanOrEqual(uniform.storage + 1e-12);
  expect(mean(budgeted)).toBeLessThanOrEqual(mean(uniform) + 1e-9);
  const everything = jointReport(await jointCompress(members, { storage: 10 }), members);
  for (const t of everything.tasks) expect(t.relativeError).toBeLessThan(1e-6);
});

test('bad input is refused with a message that says what to change', async () => {
  expect(await invalidInputOf(() => jointCompress(members, { k: 0 }))).toMatch(/^bad_k: k is 0/);
  expect(await invalidInputOf(() => jointCompress(members, {}))).toMatch(/^bad_k: give either k/);
  expect(await invalidInputOf(() => jointCompress(members, { k: 2, storage: 0.5 }))).toMatch(/^bad_k: give either k/);
  expect(await invalidInputOf(() => jointCompress(members, { storage: 0 }))).toMatch(/^bad_storage: storage is 0/);
  expect(await invalidInputOf(() => jointCompress(members, { k: 2.5 }))).toMatch(/^bad_k/);
  expect(await invalidInputOf(() => jointCompress([], { k: 2 }))).toMatch(/^bad_adapters/);
  expect(await invalidInputOf(() => jointCompress([members[0], members[0]], { k: 2 }))).toMatch(/^duplicate_adapter/);
  expect(await invalidInputOf(() => jointCompress([members[0], { ...members[1], baseModel: 'x' }], { k: 2 }))).toMatch(
    /^base_model_mismatch/,
  );
  const two = await jointCompress(members, { k: 2 });
  expect(await invalidInputOf(() => jointAdapter(two, 'z'))).toBe('unknown_task: "z" is not a member; the members are "a", "b", "c".');
  expect(await invalidInputOf(() => decodeJointBasis({ format: 'other' }, new Map()))).toMatch(/^bad_artifact/);
});

test('jointCompress fits many adapters a module family at a time (all layers per run) and keeps what the exact fit keeps', async () => {
  const { alignMembers } = await import('../../gpu-backend/lowrank/reversible-types.ts');
  const { jointFactors } = await import('../../gpu-backend/lowrank/joint.ts');
  const { coreSpace, expand, fitCore, taskWeights } = await import('../../gpu-backend/lowrank/core-space.ts');
  const { deltaDistance } = await import('../../gpu-backend/lowrank/delta-distance.ts');
  // Nine adapters of rank 4 sharing two directions plus noise, and one of rank 2 on q_proj only (a narrower
  // block, and a member lacking gate_proj): stacked ranks 38 and 36, above 3(k + 8) at k = 3, so every module is
  // sketched.
  const projections: Projection[] = ['q_proj', 'gate_proj'];
  const many: Member[] = Array.from({ length: 9 }, (_, i) => ({
    name: `t${i}`,
    baseModel: 'tiny',
    adapter: randomAdapter(4, 60 + i, projections),
  }));
  const shared = randomAdapter(2, 98, projections);
  for (const m of many) {
    for (const [j, mod] of m.adapter.modules.entries()) {
      const s = shared.modules[j];
      for (let o = 0; o < mod.out; o++) for (let c = 0; c < 2; c++) mod.b[o * 4 + c] = 5 * s.b[o * 2 + c];
      for (let c = 0; c < 2; c++) for (let x = 0; x < mod.in; x++) mod.a[c * mod.in + x] = s.a[c * mod.in + x];
    }
  }
  many.push({ name: 'narrow', baseModel: 'tiny', adapter: randomAdapter(2, 77, ['q_proj']) });
  const aligned = alignMembers(many);
  const weights = await taskWeights(aligned, many.length);
  const kept = (slot: (typeof aligned)[number], m: { u: Mat; v: Mat; cores: Mat }) =>
    slot.factors.reduce((s, f, i) => {
      if (!f) return s;
      const e = deltaDistance(f, jointFactors(m, i));
      return s + weights[i] * (e.norm - e.err);
    }, 0);
  const basis = await jointCompress(many, { k: 3 });
  expect(basis.modules.map((m) => m.path)).toEqual(aligned.map((s) => s.path));
  for (const [at, slot] of aligned.entries()) {
    const cs = await coreSpace(slot);
    const exact = kept(slot, await expand(cs, await fitCore(cs, weights, 3, 2)));
    const sketched = kept(slot, basis.modules[at]);
    // Both are local optima of the same objective; the sketch may land a hair either side of the exact path.
    expect(Math.abs(sketched - exact)).toBeLessThan(0.01 * exact);
    expect(basis.modules[at].cores.data.subarray(9 * 3 * 3).every((x) => x === 0)).toBe(slot.projection === 'gate_proj');
  }
});
