/**
 * The merge method registry: each declared method has its implementation (lowrank/methods/<name>.ts), README's
 * table is what the declarations say, and the worker refuses what the edge refuses, with the same codes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { declarationOf, MERGE_METHODS, paramRefusals, rankRefusal } from '../../contracts/api/merge-methods.ts';
import { mergeMethodTable, withMethodTable } from '../../contracts/api/merge-methods-doc.ts';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import { decodeSafetensors } from '../../contracts/formats/safetensors.ts';
import { loadFixture, type Fixture } from '../../gpu-backend/cli/parity.ts';
import type { Member } from '../../gpu-backend/lowrank/members.ts';
import { implementationOf } from '../../gpu-backend/lowrank/methods/index.ts';
import { servedMerge } from '../../gpu-backend/lowrank/methods/served-merge.ts';
import { encodeReversibleMerge } from '../../gpu-backend/lowrank/reversible.ts';
import { mergeArtifact } from '../../gpu-backend/worker/merge.ts';
import type { MergeSpec } from '../../gpu-backend/worker/edge-client.ts';
import { FIXTURE } from './helpers.ts';

let fx: Fixture;
beforeAll(async () => {
  fx = await loadFixture(FIXTURE);
});

const NAMES = ['task_a', 'task_b'];
const members = (): Member[] => NAMES.map((name) => ({ name, baseModel: 'tiny-llama', adapter: fx.adapters.get(name)! }));

function spec(
  method: MergeSpec['method'],
  opts: Partial<Pick<MergeSpec, 'basis_size' | 'density' | 'params'>> & { weights?: number[] } = {},
): MergeSpec {
  return {
    kind: 'merge',
    method,
    basis_size: opts.basis_size ?? null,
    density: opts.density ?? null,
    params: opts.params ?? {},
    members: NAMES.map((name, i) => ({ id: name, name, storage_prefix: '', rank: 8, weight: opts.weights?.[i] ?? null })),
  } as unknown as MergeSpec;
}

async function refusal(f: () => Promise<unknown>): Promise<{ code: string; param?: string; message: string }> {
  try {
    await f();
  } catch (e) {
    if (e instanceof InvalidInputError) return { code: e.code, param: e.param, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('the merge method registry', () => {
  test.each(MERGE_METHODS)('%s has its implementation, as its declaration says', (name) => {
    const impl = implementationOf(name);
    const d = declarationOf(name);
    expect(impl.name).toBe(name);
    expect(impl.declaration).toBe(d);
    expect(impl.reversible).toBe(d.reversible);
    if (impl.reversible) expect(impl.sharedBasis !== undefined).toBe(d.servesTasksAs === 'shared_basis');
    else expect(d.servesTasksAs).toBeNull();
  });

  test("README's method table is the one the declarations give", async () => {
    const readme = await readFile(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).toContain(mergeMethodTable());
    expect(withMethodTable(readme)).toBe(readme);
  });

  test('a parameter a method does not read is refused with why, never dropped', () => {
    for (const method of MERGE_METHODS.filter((m) => declarationOf(m).reversible)) {
      const [r] = paramRefusals(method, { weights: [1, 1] }, 2);
      expect(r).toMatchObject({ code: 'invalid_field', param: 'weights' });
      expect(r.message).toContain('weights do not apply');
    }
    expect(paramRefusals('linear', { density: 0.5 }, 2)[0].message).toContain('density does not apply to method "linear"');
    expect(paramRefusals('ties', { density: 0.5, weights: [1, 2] }, 2)).toEqual([]);
  });

  test('the worker refuses what the edge refuses, with the same code, message and param', async () => {
    const weighted = await refusal(() => mergeArtifact(spec('rmm_shared', { weights: [1, 0.5] }), members()));
    expect(weighted).toEqual({ ...paramRefusals('rmm_shared', { weights: [1, 0.5] }, 2)[0] });
    const ranks = members().map((m) => ({ name: m.name, rank: Math.max(...m.adapter.modules.map((x) => x.rank)) }));
    const above = ranks.reduce((s, m) => s + m.rank, 1);
    const tooLarge = await refusal(() => mergeArtifact(spec('svd', { basis_size: above }), members()));
    expect(tooLarge).toEqual(rankRefusal('svd', { basis_size: above }, ranks));
    expect(tooLarge.code).toBe('invalid_field');
  });

  test('rmm_shared with float_bits 16 builds through the worker into F16 tensors, at half the bytes, and serves its tasks from them', async () => {
    const half = await mergeArtifact(spec('rmm_shared', { params: { float_bits: 16 } }), members());
    const full = await mergeArtifact(spec('rmm_shared'), members());
    const storage = (b: typeof half) => (b.result as { storage_fraction: number }).storage_fraction;
    expect(storage(half)).toBeCloseTo(storage(full) / 2, 12);
    expect(half.summary).toContain('float16');
    const file = (b: typeof half, suffix: string) => b.files.find(([n]) => n.endsWith(suffix))![1];
    const manifest = JSON.parse(new TextDecoder().decode(file(half, '.json')));
    const { tensors } = decodeSafetensors(file(half, '.safetensors'));
    expect(manifest.float_bits).toBe(16);
    expect(new Set([...tensors.values()].map((t) => t.dtype))).toEqual(new Set(['F16']));
    const served = servedMerge({ name: 'm', method: 'rmm_shared' }, manifest, tensors);
    expect(await served.sharedTask('task_b')).not.toBeNull();
    expect((await served.task('task_b')).modules.length).toBeGreaterThan(0);
  });

  test.each(MERGE_METHODS)('%s builds through the worker, and a reversible one serves its tasks from its stored form', async (name) => {
    // task_a has rank 4, task_b rank 8: linear (one rank for all) refuses them as the edge would.
    if (name === 'linear') return expect((await refusal(() => mergeArtifact(spec(name), members()))).code).toBe('rank_mismatch');
    const built = await mergeArtifact(spec(name), members());
    const { tasks } = built.result as { tasks: { name: string; relative_error: number }[] };
    expect(tasks.map((t) => t.name)).toEqual(NAMES);
    const impl = implementationOf(name);
    if (!impl.reversible) return expect(built.layout).toBe('peft_adapter');
    expect(built.layout).toBe('reversible_basis');
    // At p = n every task comes back exactly.
    for (const t of tasks) expect(t.relative_error).toBeLessThan(1e-5);
    const merge = await impl.build(members(), {});
    if (merge.layout !== 'reversible_basis') throw new Error('a reversible method builds a basis');
    const { manifest, tensors } = encodeReversibleMerge(merge.merge);
    const served = servedMerge({ name: 'm', method: name }, manifest, tensors);
    expect((await served.task('task_b')).modules.length).toBeGreaterThan(0);
    expect((await served.mean()).modules.length).toBeGreaterThan(0);
    expect((await served.sharedTask('task_b')) !== null).toBe(declarationOf(name).servesTasksAs === 'shared_basis');
  });
});
