/**
 * rmm_shared with float_bits 16 (gpu-backend/lowrank/stored-precision.ts): the parts are kept in float16, so
 * p tasks' worth of bytes holds about twice the basis. What it stores is what it rebuilds from, its storage
 * counts 2 bytes a value, and what float16 cannot hold is refused.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { paramRefusals } from '../../contracts/api/merge-methods.ts';
import { parseModelConfig } from '../../contracts/formats/hf-config.ts';
import { decodeSafetensors, encodeSafetensors, floatToHalf, halfToFloat } from '../../contracts/formats/safetensors.ts';
import { readAdapterFolder } from '../../gpu-backend/formats/files.ts';
import { setRuntimeMinMacs } from '../../gpu-backend/lowrank/gemm-runner.ts';
import type { Member } from '../../gpu-backend/lowrank/members.ts';
import {
  buildReversibleMerge,
  decodeReversibleMerge,
  encodeReversibleMerge,
  revertTask,
  reversibleReport,
} from '../../gpu-backend/lowrank/reversible.ts';
import { storedFloats } from '../../gpu-backend/lowrank/reversible-types.ts';
import { invalidInputOf } from './helpers.ts';

const MODEL = join(import.meta.dirname, '..', '..', 'models', 'rankgate-tiny');
const cfg = parseModelConfig(JSON.parse(await readFile(join(MODEL, 'base', 'config.json'), 'utf8')));
const NAMES = ['reverse_words', 'larger', 'date_to_us', 'acronym', 'snake_to_camel', 'remove_vowels'];
const members: Member[] = await Promise.all(
  NAMES.map(async (name) => ({ name, baseModel: 'rankgate-tiny', adapter: await readAdapterFolder(join(MODEL, 'adapters', name), cfg) })),
);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const errors = (r: { tasks: { relativeError: number }[] }) => r.tasks.map((t) => t.relativeError);

describe('the shared basis in float16, on the six default task adapters', () => {
  test('at a third of the bytes it errs less than half as much as float32 at the same storage, and p = n is exact to float16', async () => {
    const half = await buildReversibleMerge(members, { construction: 'shared', basisSize: 2, floatBits: 16 });
    const full = await buildReversibleMerge(members, { construction: 'shared', basisSize: 2 });
    const [r16, r32] = [await reversibleReport(half, members), await reversibleReport(full, members)];
    console.log(
      `p=2: float16 storage ${r16.storage.toFixed(3)}, mean error ${mean(errors(r16)).toFixed(4)}; float32 ${r32.storage.toFixed(3)}, ${mean(errors(r32)).toFixed(4)}`,
    );
    // Storage counts 2 bytes a stored value, over the members' float32 bytes.
    expect(r16.storage).toBeCloseTo(storedFloats(half.modules) / 2 / half.fullFloats, 12);
    expect(r16.storage).toBeLessThanOrEqual(0.34);
    expect(r16.storage).toBeLessThanOrEqual(r32.storage * 1.02);
    expect(mean(errors(r16))).toBeLessThan(mean(errors(r32)) / 2);
    expect(Math.max(...errors(r16))).toBeLessThan(Math.min(...errors(r32)));

    const exact = await reversibleReport(
      await buildReversibleMerge(members, { construction: 'shared', basisSize: 6, floatBits: 16 }),
      members,
    );
    for (const e of errors(exact)) expect(e).toBeLessThan(2e-3);
  });

  test('every stored value is a float16; the artifact holds F16 tensors and rebuilds the very same tasks', async () => {
    const merge = await buildReversibleMerge(members.slice(0, 3), { construction: 'shared', basisSize: 1, floatBits: 16 });
    let notHalf = 0;
    for (const m of merge.modules)
      for (const part of Object.values(m.parts)) for (const x of part.data) if (halfToFloat(floatToHalf(x)) !== x) notHalf++;
    expect(notHalf).toBe(0);
    const { manifest, tensors } = encodeReversibleMerge(merge);
    expect(manifest.float_bits).toBe(16);
    expect([...new Set([...tensors.values()].map((t) => t.dtype))]).toEqual(['F16']);
    const back = decodeReversibleMerge(JSON.parse(JSON.stringify(manifest)), decodeSafetensors(encodeSafetensors(tensors)).tensors);
    expect(back.floatBits).toBe(16);
    for (const name of NAMES.slice(0, 3)) {
      const [a, b] = [await revertTask(merge, name), await revertTask(back, name)];
      a.modules.forEach((m, i) => {
        expect(b.modules[i].a).toEqual(m.a);
        expect(b.modules[i].b).toEqual(m.b);
      });
    }
    expect((await reversibleReport(back, members.slice(0, 3))).storage).toBe((await reversibleReport(merge, members.slice(0, 3))).storage);
  });

  test('with every product on the runtime, the merge in memory rebuilds from its rounded parts too, as its artifact does', async () => {
    // The runtime reads a part's kept float32 copy (float32-twin.ts); rounding the parts in place must renew it.
    const was = setRuntimeMinMacs(0);
    try {
      const merge = await buildReversibleMerge(members.slice(0, 3), { construction: 'shared', basisSize: 1, floatBits: 16 });
      const { manifest, tensors } = encodeReversibleMerge(merge);
      const back = decodeReversibleMerge(JSON.parse(JSON.stringify(manifest)), decodeSafetensors(encodeSafetensors(tensors)).tensors);
      const [a, b] = [await revertTask(merge, NAMES[0]), await revertTask(back, NAMES[0])];
      a.modules.forEach((m, i) => {
        expect(b.modules[i].a).toEqual(m.a);
        expect(b.modules[i].b).toEqual(m.b);
      });
    } finally {
      setRuntimeMinMacs(was);
    }
  });
});

test('what float16 cannot hold, and float_bits where it does not apply, are refused with what to change', async () => {
  const huge = structuredClone(members[0]);
  huge.name = 'huge';
  for (const m of huge.adapter.modules) m.b = m.b.map((x) => x * 1e7);
  expect(
    await invalidInputOf(() => buildReversibleMerge([huge, members[1]], { construction: 'shared', basisSize: 1, floatBits: 16 })),
  ).toMatch(/^float_bits_overflow: .* beyond float16's ±65504; merge with float_bits 32\./);
  expect(
    await invalidInputOf(() => buildReversibleMerge(members.slice(0, 2), { construction: 'shared', basisSize: 1, floatBits: 8 })),
  ).toBe('bad_float_bits: float_bits is 8; use 32 or 16.');
  expect(
    await invalidInputOf(() => buildReversibleMerge(members.slice(0, 2), { construction: 'delta', basisSize: 1, floatBits: 16 })),
  ).toMatch(/^bad_float_bits: float_bits 16 is for the shared construction/);
  // The declarations: rmm_shared takes float_bits 16 or 32, the other methods refuse it.
  expect(paramRefusals('rmm_shared', { float_bits: 16 }, 2)).toEqual([]);
  expect(paramRefusals('rmm_shared', { float_bits: 8 }, 2)[0]).toMatchObject({ code: 'invalid_field', param: 'float_bits' });
  expect(paramRefusals('rmm_factor', { float_bits: 16 }, 2)[0].message).toContain('float_bits does not apply to method "rmm_factor"');
});
