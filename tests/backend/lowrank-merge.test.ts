import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadLoraAdapter, type LoraAdapter } from '../../contracts/formats/adapter.ts';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import { parseLoraConfig } from '../../contracts/formats/peft-config.ts';
import { decodeSafetensors, toFloat32 } from '../../contracts/formats/safetensors.ts';
import { forwardLogits, loadFixture, maxAbsDiff, runParity, type Fixture } from '../../gpu-backend/cli/parity.ts';
import type { Member } from '../../gpu-backend/lowrank/members.ts';
import { RUNTIME_MIN_MACS, setRuntimeMinMacs } from '../../gpu-backend/lowrank/gemm-runner.ts';
import { type CollapsedSpec, mergeCollapsed, mergeDeltas } from '../../gpu-backend/lowrank/merge-collapsed.ts';
import {
  combine,
  combineRule,
  type DenseValues,
  dareKeep,
  disjointMean,
  magnitudeTrim,
  sumRule,
} from '../../gpu-backend/lowrank/merge-ties-dare.ts';
import { adapterFiles } from '../../gpu-backend/lowrank/peft-adapter.ts';
import { FIXTURE, fixtureCopy } from './helpers.ts';

let fx: Fixture;
beforeAll(async () => {
  fx = await loadFixture(FIXTURE);
});

const members = (...names: string[]): Member[] => names.map((name) => ({ name, baseModel: 'tiny-llama', adapter: fx.adapters.get(name)! }));

/** Every module's dense ΔW = scale·B·A, by path. */
function deltas(adapter: LoraAdapter): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const m of adapter.modules) {
    const d = new Float64Array(m.out * m.in);
    for (let o = 0; o < m.out; o++)
      for (let k = 0; k < m.rank; k++) {
        const b = m.scale * m.b[o * m.rank + k];
        for (let i = 0; i < m.in; i++) d[o * m.in + i] += b * m.a[k * m.in + i];
      }
    out.set(m.path, d);
  }
  return out;
}

/** ‖x − Σ cᵢ·ΔWᵢ‖ / ‖Σ cᵢ·ΔWᵢ‖ over all modules. */
function errorAgainstSum(got: LoraAdapter, terms: [LoraAdapter, number][]): number {
  const want = new Map<string, Float64Array>();
  for (const [adapter, c] of terms) {
    for (const [path, d] of deltas(adapter)) {
      const acc = want.get(path) ?? new Float64Array(d.length);
      for (let i = 0; i < d.length; i++) acc[i] += c * d[i];
      want.set(path, acc);
    }
  }
  const have = deltas(got);
  expect([...have.keys()].sort()).toEqual([...want.keys()].sort());
  let diff = 0;
  let norm = 0;
  for (const [path, w] of want) {
    const h = have.get(path)!;
    for (let i = 0; i < w.length; i++) {
      diff += (h[i] - w[i]) ** 2;
      norm += w[i] ** 2;
    }
  }
  return Math.sqrt(diff / norm);
}

const expectInvalid = async (fn: () => unknown, code: string, message: RegExp) => {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    expect((e as InvalidInputError).code).toBe(code);
    expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${code}`);
};

describe('collapsed merges reproduce PEFT add_weighted_adapter (tiny-llama fixture)', () => {
  test.each<[string, string[], CollapsedSpec, number]>([
    ['merge_cat', ['task_a', 'task_b', 'task_c'], { method: 'cat', weights: [1, 1, 1] }, 20],
    ['merge_svd', ['task_a', 'task_b', 'task_c'], { method: 'svd', weights: [1, 1, 1], rank: 8 }, 8],
    ['merge_linear_bc', ['task_b', 'task_c'], { method: 'linear', weights: [0.5, 0.5] }, 8],
  ])('%s: served logits within 1e-4, PEFT config, files load back', async (key, names, spec, r) => {
    const { adapter } = await mergeCollapsed(members(...names), spec);
    const got = await forwardLogits(
      fx.decoder,
      fx.inputIds,
      fx.inputIds.map(() => adapter),
    );
    expect(maxAbsDiff(got, toFloat32(fx.reference.get(`logits.${key}`)!))).toBeLessThan(1e-4);

    const raw = adapter.config.raw;
    expect(raw).toMatchObject({ r, lora_alpha: r, use_rslora: false, peft_version: '0.21.0' });
    expect([raw.rank_pattern, raw.alpha_pattern]).toEqual([{}, {}]);
    expect(raw.target_modules).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
    const files = adapterFiles(adapter);
    const back = loadLoraAdapter(JSON.parse(files.config), fx.decoder.cfg, decodeSafetensors(files.weights).tensors);
    expect(back.modules.map((m) => [m.path, m.rank, m.scale])).toEqual(adapter.modules.map((m) => [m.path, r, 1]));
  });

  test('the defaults are the fixture README weights: 1 each for cat and svd, 1/n for linear', async () => {
    expect((await mergeCollapsed(members('task_a', 'task_b'), { method: 'cat' })).report.weights).toEqual([1, 1]);
    expect((await mergeCollapsed(members('task_a', 'task_b'), { method: 'svd' })).report.weights).toEqual([1, 1]);
    expect((await mergeCollapsed(members('task_b', 'task_c'), { method: 'linear' })).report.weights).toEqual([0.5, 0.5]);
  });
});

describe('what each merge computes', () => {
  test('cat is exactly Σ wᵢ·ΔWᵢ (modules an adapter lacks take the others only), rank the sum of ranks', async () => {
    const [a, b, c] = ['task_a', 'task_b', 'task_c'].map((n) => fx.adapters.get(n)!);
    const { adapter, report } = await mergeCollapsed(members('task_a', 'task_b', 'task_c'), { method: 'cat', weights: [0.5, -2, 1.5] });
    expect(
      errorAgainstSum(adapter, [
        [a, 0.5],
        [b, -2],
        [c, 1.5],
      ]),
    ).toBeLessThan(1e-6);
    expect(report.rank).toBe(20);
  });

  test('adapters on some layers only (layers_to_transform): target_modules lists the merged modules by path, and loads back to them', async () => {
    const onLayer = (name: string, layer: number): Member => {
      const a = fx.adapters.get(name)!;
      const config = parseLoraConfig({ ...a.config.raw, layers_to_transform: [layer] });
      return { name, baseModel: 'tiny-llama', adapter: { config, modules: a.modules.filter((m) => m.layer === layer) } };
    };
    const parts = [onLayer('task_a', 0), onLayer('task_b', 1)];
    const { adapter } = await mergeCollapsed(parts, { method: 'cat' });
    expect(adapter.config.raw.target_modules).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.k_proj',
      'model.layers.1.self_attn.v_proj',
      'model.layers.1.self_attn.o_proj',
    ]);
    const back = loadLoraAdapter(
      JSON.parse(adapterFiles(adapter).config),
      fx.decoder.cfg,
      decodeSafetensors(adapterFiles(adapter).weights).tensors,
    );
    expect(
      errorAgainstSum(back, [
        [parts[0].adapter, 1],
        [parts[1].adapter, 1],
      ]),
    ).toBeLessThan(1e-6);
  });

  test('task arithmetic: exact λ·Σ wᵢ·ΔWᵢ with each module at its own rank; with a rank, the best one by SVD', async () => {
    const [b, c] = ['task_b', 'task_c'].map((n) => fx.adapters.get(n)!);
    const exact = (await mergeCollapsed(members('task_b', 'task_c'), { method: 'task_arithmetic', weights: [1, -1], lambda: 0.3 })).adapter;
    expect(
      errorAgainstSum(exact, [
        [b, 0.3],
        [c, -0.3],
      ]),
    ).toBeLessThan(1e-6);
    expect(exact.config.r).toBe(16);
    expect(exact.config.rankPattern['model.layers.0.mlp.gate_proj']).toBe(8); // only task_c has the MLP
    expect(loadLoraAdapter(exact.config.raw, fx.decoder.cfg, decodeSafetensors(adapterFiles(exact).weights).tensors).modules.length).toBe(
      14,
    );

    const full = (
      await mergeCollapsed(members('task_b', 'task_c'), {
        method: 'task_arithmetic',
        weights: [1, -1],
        lambda: 0.3,
        rank: 16,
      })
    ).adapter;
    expect(
      errorAgainstSum(full, [
        [b, 0.3],
        [c, -0.3],
      ]),
    ).toBeLessThan(1e-6);
    const low = await mergeCollapsed(members('task_b', 'task_c'), { method: 'task_arithmetic', rank: 4 });
    expect(low.adapter.modules.every((m) => m.rank === 4)).toBe(true);
    const err = errorAgainstSum(low.adapter, [
      [b, 1],
      [c, 1],
    ]);
    expect(err).toBeGreaterThan(0.01);
    expect(err).toBeLessThan(1);
  });

  test('svd at a rank that holds the sum is exact; svd_clamp bounds U·S and Vᵀ by its quantile', async () => {
    const [a, b, c] = ['task_a', 'task_b', 'task_c'].map((n) => fx.adapters.get(n)!);
    const full = (await mergeCollapsed(members('task_a', 'task_b', 'task_c'), { method: 'svd', rank: 20 })).adapter;
    expect(
      errorAgainstSum(full, [
        [a, 1],
        [b, 1],
        [c, 1],
      ]),
    ).toBeLessThan(1e-6);
    const clamped = (await mergeCollapsed(members('task_a', 'task_b', 'task_c'), { method: 'svd', rank: 8, clamp: 0.9 })).adapter;
    for (const m of clamped.modules) {
      const all = Float64Array.from([...m.a, ...m.b]).sort();
      const hi = all[all.length - 1];
      expect(-all[0]).toBeLessThanOrEqual(hi * (1 + 1e-6));
      expect(all.filter((v) => v >= hi * (1 - 1e-6)).length).toBeGreaterThan(all.length * 0.05); // the top 10% sit on the bound
    }
  });

  test('linear merges A and B separately: (Σ√(wᵢsᵢ)·Bᵢ)(Σ√(wᵢsᵢ)·Aᵢ), cross terms included; one adapter comes back unchanged', async () => {
    const single = await mergeCollapsed(members('task_b'), { method: 'linear', weights: [1] });
    expect(single.report.tasks[0].relativeError).toBeLessThan(1e-6);
    const [b, c] = ['task_b', 'task_c'].map((n) => fx.adapters.get(n)!);
    const { adapter } = await mergeCollapsed(members('task_b', 'task_c'), { method: 'linear', weights: [0.5, 0.5] });
    const q = (x: LoraAdapter) => x.modules.find((m) => m.path === 'model.layers.0.self_attn.q_proj')!;
    const [mb, mc, mm] = [q(b), q(c), q(adapter)];
    const [cb, cc] = [Math.sqrt(0.5 * mb.scale), Math.sqrt(0.5 * mc.scale)];
    for (let i = 0; i < mm.a.length; i++) expect(mm.a[i]).toBeCloseTo(cb * mb.a[i] + cc * mc.a[i], 5);
    for (let i = 0; i < mm.b.length; i++) expect(mm.b[i]).toBeCloseTo(cb * mb.b[i] + cc * mc.b[i], 5);
    // The cross terms make it far from the mean of the deltas.
    expect(
      errorAgainstSum(adapter, [
        [b, 0.5],
        [c, 0.5],
      ]),
    ).toBeGreaterThan(0.1);
  });

  test('the report gives each task ‖ΔW_merged − ΔWᵢ‖/‖ΔWᵢ‖, from factors, as the dense deltas do', async () => {
    const [a, b, c] = ['task_a', 'task_b', 'task_c'].map((n) => fx.adapters.get(n)!);
    const { adapter, report } = await mergeCollapsed(members('task_a', 'task_b', 'task_c'), { method: 'svd', rank: 8 });
    const dense = (x: LoraAdapter) => {
      const mine = deltas(x);
      let diff = 0;
      let norm = 0;
      for (const [path, h] of deltas(adapter)) {
        const w = mine.get(path) ?? new Float64Array(h.length);
        for (let i = 0; i < h.length; i++) {
          diff += (h[i] - w[i]) ** 2;
          norm += w[i] ** 2;
        }
      }
      return Math.sqrt(diff / norm);
    };
    report.tasks.forEach((t, i) => {
      expect(t.relativeError).toBeCloseTo(dense([a, b, c][i]), 6);
    });
  });

  test('TIES and DARE of one adapter at density 1, full rank, give it back, in delta and factor space', async () => {
    for (const spec of [
      { method: 'ties', density: 1, rank: 8 },
      { method: 'ties', density: 1, space: 'factors' },
      { method: 'dare', density: 1, rank: 8 },
      { method: 'dare', density: 1, electSign: true, space: 'factors' },
    ] as CollapsedSpec[]) {
      expect((await mergeCollapsed(members('task_c'), spec)).report.tasks[0].relativeError, JSON.stringify(spec)).toBeLessThan(1e-6);
    }
  });

  test('TIES in delta space: trims each ΔWᵢ, elects by the total, averages the agreeing; rank defaults to the largest input rank', async () => {
    const { adapter, report } = await mergeCollapsed(members('task_a', 'task_b', 'task_c'), { method: 'ties', density: 0.2 });
    expect(report.peftCombination).toBe('ties_svd');
    expect(adapter.modules.every((m) => m.rank === 8)).toBe(true);
    // A module only task_a has keeps 20% of its entries (then rank 8 of a rank-4-plus-trim matrix).
    expect(report.tasks.every((t) => t.relativeError > 0 && Number.isFinite(t.relativeError))).toBe(true);
  });

  test('DARE is repeatable by seed and differs across seeds', async () => {
    const spec: CollapsedSpec = { method: 'dare', density: 0.5, space: 'factors' };
    const one = (await mergeCollapsed(members('task_b', 'task_c'), { ...spec, seed: 7 })).adapter;
    const again = (await mergeCollapsed(members('task_b', 'task_c'), { ...spec, seed: 7 })).adapter;
    const other = (await mergeCollapsed(members('task_b', 'task_c'), { ...spec, seed: 8 })).adapter;
    expect(again.modules[0].a).toEqual(one.modules[0].a);
    expect(other.modules[0].a).not.toEqual(one.modules[0].a);
  });
});

describe('the element-wise combiners (merge_utils)', () => {
  test('magnitude trim keeps exactly ⌊density·n⌋ entries, the largest, earlier ones first on ties', async () => {
    expect([...magnitudeTrim(Float64Array.from([1, -5, 3, -3, 0.5]), 0.4)]).toEqual([0, -5, 3, 0, 0]);
    expect([...magnitudeTrim(Float64Array.from([2, -2, 2, 1]), 0.5)]).toEqual([2, -2, 0, 0]);
    expect([...magnitudeTrim(Float64Array.from([1, 2]), 0.1)]).toEqual([0, 0]);
  });

  test('disjoint mean: sign of the total wins, agreeing entries averaged with their weights, ties count as +', async () => {
    const t = [Float64Array.from([1, -2, 3, 1]), Float64Array.from([2, 1, -4, -1]), Float64Array.from([0, -2, 0, 0])];
    // totals: 3 (+), -3 (−), -1 (−), 0 (+)
    expect([...disjointMean(t, [1, 10, 100])]).toEqual([(1 + 20) / 2, (-2 - 200) / 2, -40, 1]);
  });

  test('DARE keeps about density of the entries, rescaled by 1/density', async () => {
    const t = new Float64Array(20000).fill(3);
    const kept = dareKeep(t, 0.25, xoroshiro128plus(1));
    const nonzero = kept.filter((v) => v !== 0);
    expect(nonzero.every((v) => v === 12)).toBe(true);
    expect(nonzero.length / t.length).toBeCloseTo(0.25, 1);
  });
});

describe('whole deltas, one member at a time', () => {
  test('each rule folded one delta at a time gives what its array form gives, with the same random draws', () => {
    const tensors = [11, 12, 13].map((seed) => {
      const rng = xoroshiro128plus(seed);
      return Float64Array.from({ length: 500 }, () => (rng.next() % 1000) / 250);
    });
    const weights = [1, 0.5, -2];
    for (const how of ['ties', 'dare_linear', 'dare_ties'] as const) {
      const rule = combineRule(how, 0.4, xoroshiro128plus(3));
      tensors.forEach((t, i) => rule.add(t.slice(), weights[i]));
      expect([...rule.result()]).toEqual([
        ...combine(
          how,
          tensors.map((t) => t.slice()),
          weights,
          0.4,
          xoroshiro128plus(3),
        ),
      ]);
    }
  });

  test('a module on the runtime gives the rule each member’s delta in float32, in turn, in one buffer: never all at once', async () => {
    const seen: DenseValues[][] = [];
    setRuntimeMinMacs(0);
    try {
      await mergeDeltas(members('task_a', 'task_b', 'task_c'), {}, () => {
        const module: DenseValues[] = [];
        seen.push(module);
        const sum = sumRule();
        return {
          add(d, w) {
            module.push(d);
            sum.add(d, w);
          },
          result: () => sum.result(),
        };
      });
    } finally {
      setRuntimeMinMacs(RUNTIME_MIN_MACS);
    }
    // Every module's members (those that have it) in turn; most modules have several.
    expect(seen.filter((module) => module.length > 1).length).toBeGreaterThan(seen.length / 2);
    for (const module of seen) {
      for (const d of module) {
        expect(d).toBeInstanceOf(Float32Array);
        expect(d).toBe(module[0]);
      }
    }
  });
});

describe('bad input is refused with a message that says what to change', () => {
  test('adapters of different bases, the same adapter twice, an empty list', async () => {
    const [a, b] = members('task_a', 'task_b');
    await expectInvalid(
      () => mergeCollapsed([a, { ...b, baseModel: 'other' }], { method: 'cat' }),
      'base_model_mismatch',
      /made for base model "other"/,
    );
    await expectInvalid(() => mergeCollapsed([a, a], { method: 'cat' }), 'duplicate_adapter', /listed twice/);
    await expectInvalid(() => mergeCollapsed([], { method: 'svd' }), 'bad_adapters', /at least 1 adapter/);
  });

  test('NaN or Inf weights, a weight count that does not match', async () => {
    await expectInvalid(
      () => mergeCollapsed(members('task_a', 'task_b'), { method: 'cat', weights: [1, Number.NaN] }),
      'bad_weights',
      /finite/,
    );
    await expectInvalid(
      () => mergeCollapsed(members('task_a', 'task_b'), { method: 'svd', weights: [Infinity, 1] }),
      'bad_weights',
      /finite/,
    );
    await expectInvalid(
      () => mergeCollapsed(members('task_a', 'task_b'), { method: 'cat', weights: [1] }),
      'bad_weights',
      /1 values for 2 adapters/,
    );
  });

  test.each([0, -0.1, 1.5, Number.NaN])('density %s outside (0, 1]', async (density) => {
    for (const method of ['ties', 'dare'] as const)
      await expectInvalid(() => mergeCollapsed(members('task_b', 'task_c'), { method, density }), 'bad_density', /\(0, 1\]/);
  });

  test('linear and factor-space TIES/DARE on different ranks get PEFT’s error, readable; negative weights too', async () => {
    await expectInvalid(
      () => mergeCollapsed(members('task_a', 'task_b'), { method: 'linear' }),
      'rank_mismatch',
      /"task_a" has r=4 and "task_b" r=8; .* use cat, svd or task_arithmetic/,
    );
    await expectInvalid(
      () => mergeCollapsed(members('task_a', 'task_b'), { method: 'ties', space: 'factors' }),
      'rank_mismatch',
      /same r value/,
    );
    await expectInvalid(() => mergeCollapsed(members('task_b', 'task_c'), { method: 'linear', weights: [1, -1] }), 'bad_weights', /≥ 0/);
  });

  test('a cat whose summed rank exceeds what an adapter may have', async () => {
    const many = Array.from({ length: 33 }, (_, i) => ({ ...members('task_b')[0], name: `b${i}` }));
    await expectInvalid(() => mergeCollapsed(many, { method: 'cat' }), 'merged_rank_too_large', /rank 264 .* use svd/);
    expect((await mergeCollapsed(many, { method: 'svd', rank: 8 })).adapter.config.r).toBe(8);
  });

  test('a rank, clamp, space or method outside its range', async () => {
    await expectInvalid(() => mergeCollapsed(members('task_a', 'task_b'), { method: 'svd', rank: 0 }), 'bad_rank', /integer from 1/);
    await expectInvalid(() => mergeCollapsed(members('task_a', 'task_b'), { method: 'svd', rank: 2.5 }), 'bad_rank', /integer from 1/);
    await expectInvalid(() => mergeCollapsed(members('task_a', 'task_b'), { method: 'svd', clamp: 1.2 }), 'bad_clamp', /\[0, 1\]/);
    await expectInvalid(
      () => mergeCollapsed(members('task_b', 'task_c'), { method: 'ties', space: 'rows' as 'delta' }),
      'bad_space',
      /"delta"/,
    );
    await expectInvalid(
      () => mergeCollapsed(members('task_a', 'task_b'), { method: 'rmm_factor' as 'cat' }),
      'bad_method',
      /one of cat, linear, svd/,
    );
  });
});

describe('rankgate parity and reference.json merges', () => {
  test('a merge PEFT refused (ok: false) must be refused here too; merges without a logits key are built but not compared', async () => {
    const dir = await fixtureCopy();
    const file = join(dir, 'reference.json');
    const json = JSON.parse(await readFile(file, 'utf8'));
    json.merges.linear_ab = { adapters: ['task_a', 'task_b'], ok: false };
    json.merges.ties_svd_bc = { adapters: ['task_b', 'task_c'], density: 0.5 };
    await writeFile(file, JSON.stringify(json));
    const report = await runParity(dir);
    expect(report.merge_refused).toEqual({ linear_ab: true });
    expect(report.ok).toBe(true);
    expect(report.unchecked).toEqual([]);
    for (const key of ['logits.merge_cat', 'logits.merge_svd', 'logits.merge_linear_bc'])
      expect(report.max_abs_diff[key]).toBeLessThan(1e-4);
    await rm(dir, { recursive: true });
  });
});
