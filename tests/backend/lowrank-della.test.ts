/** della: mergekit's DELLA on whole deltas (lowrank/methods/della.ts), with mergekit's semantics and defaults. */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { beforeAll, describe, expect, test } from 'vitest';
import { paramRefusals } from '../../contracts/api/merge-methods.ts';
import { loadFixture, type Fixture } from '../../gpu-backend/cli/parity.ts';
import { relativeError } from '../../gpu-backend/lowrank/delta-distance.ts';
import { magnitudeOrderer } from '../../gpu-backend/lowrank/magnitude-order.ts';
import { magPrune, normalizedConsensus } from '../../gpu-backend/lowrank/methods/della.ts';
import { implementationOf } from '../../gpu-backend/lowrank/methods/index.ts';
import { FIXTURE } from './helpers.ts';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';

let fx: Fixture;
beforeAll(async () => {
  fx = await loadFixture(FIXTURE);
});

const member = (name: string) => ({ name, baseModel: 'tiny-llama', adapter: fx.adapters.get(name)! });

/** The ranking della used before the radix sort: a stable comparator sort of the indices by magnitude. */
function comparatorOrder(row: Float32Array | Float64Array): Int32Array {
  return new Int32Array(row.length).map((_, c) => c).sort((x, y) => Math.abs(row[x]) - Math.abs(row[y]));
}

/** magPrune as it was with that ranking: the reference for the same seed's result, bit for bit. */
function comparatorMagPrune<T extends Float32Array | Float64Array>(
  delta: T,
  cols: number,
  density: number,
  epsilon: number,
  seed: number,
): T {
  const rng = xoroshiro128plus(seed);
  const out = delta.slice() as T;
  let before = 0;
  for (let i = 0; i < delta.length; i++) before += Math.abs(delta[i]);
  for (let r = 0; r < delta.length / cols; r++) {
    const row = delta.subarray(r * cols, (r + 1) * cols);
    const order = comparatorOrder(row);
    for (let q = 0; q < cols; q++) {
      const p = density - epsilon + (cols > 1 ? q / (cols - 1) : 0) * 2 * epsilon;
      out[r * cols + order[q]] = uniformFloat64(rng) < p ? row[order[q]] : 0;
    }
  }
  let after = 0;
  for (let i = 0; i < out.length; i++) after += Math.abs(out[i]);
  if (before < 1e-7 || after < 1e-7) return out;
  for (let i = 0; i < out.length; i++) out[i] *= before / after;
  return out;
}

/** Rows whose magnitudes tie often (few distinct values, both signs, ±0), and rows of random values across exponents. */
function testRows(cols: number, seed: number): Float64Array[] {
  const rng = xoroshiro128plus(seed);
  const u = () => uniformFloat64(rng);
  const values = [0, -0, 1, -1, 0.5, -0.5, 1e-300, 5e-324, -5e-324, 1.5e-45, Number.POSITIVE_INFINITY, -Number.MAX_VALUE];
  return [
    Float64Array.from({ length: cols }, () => values[Math.floor(u() * values.length)]),
    Float64Array.from({ length: cols }, () => Math.round(u() * 6 - 3) / 4),
    Float64Array.from({ length: cols }, () => (u() - 0.5) * 1e-3),
    Float64Array.from({ length: cols }, () => (u() - 0.5) * 10 ** Math.round(u() * 60 - 40)),
    new Float64Array(cols),
  ];
}

describe('della', () => {
  test('consensus: the sign of the weighted sum wins, the agreeing entries are averaged by their weights, times lambda', () => {
    const d1 = Float64Array.of(3, -1, 0.5);
    const d2 = Float64Array.of(-2, 2, 0.5);
    // Entry 0: 3 − 2·2 = −1 < 0, only d2 agrees: 2·(−2) / 2. Entry 1: −1 + 4 > 0, d2: 4 / 2. Entry 2: both: (0.5 + 1) / 3.
    expect([...normalizedConsensus([d1, d2], [1, 2], 1)]).toEqual([-2, 2, 0.5]);
    expect([...normalizedConsensus([d1, d2], [1, 2], 0.5)]).toEqual([-1, 1, 0.25]);
    // Nothing agrees with a zero total's + sign where every term is zero: divisor 1, entry 0.
    expect([...normalizedConsensus([Float64Array.of(0)], [1], 1)]).toEqual([0]);
  });

  test('MagPrune keeps about density of each row, larger magnitudes more often, and restores the L1 norm', () => {
    const rows = 4;
    const cols = 2000;
    const delta = new Float64Array(rows * cols).map((_, i) => ((i % cols) + 1) * (i % 3 === 0 ? -1 : 1));
    const pruned = magPrune(delta, { rows, cols }, 0.5, 0.15, xoroshiro128plus(7));
    const kept = (from: number, to: number) => {
      let n = 0;
      for (let r = 0; r < rows; r++) for (let c = from; c < to; c++) if (pruned[r * cols + c] !== 0) n++;
      return n / (rows * (to - from));
    };
    expect(kept(0, cols)).toBeCloseTo(0.5, 1);
    // Probabilities run from 0.35 (smallest) to 0.65 (largest): the small half keeps ~0.425, the large half ~0.575.
    expect(kept(0, cols / 2)).toBeCloseTo(0.425, 1);
    expect(kept(cols / 2, cols)).toBeCloseTo(0.575, 1);
    const l1 = (x: Float64Array) => x.reduce((s, v) => s + Math.abs(v), 0);
    expect(l1(pruned) / l1(delta)).toBeCloseTo(1, 10);
    for (let i = 0; i < delta.length; i++) if (pruned[i] !== 0) expect(Math.sign(pruned[i])).toBe(Math.sign(delta[i]));
    // mergekit's default density 1 prunes nothing.
    expect(magPrune(delta, { rows, cols }, 1, 0.15, xoroshiro128plus(7))).toBe(delta);
  });

  test('the radix ranking equals the stable comparator ranking, in float32 and float64, ties in index order', () => {
    for (const cols of [1, 2, 7, 300, 4096]) {
      const orderOf = magnitudeOrderer(cols);
      for (const row64 of testRows(cols, cols)) {
        for (const row of [row64, Float32Array.from(row64)]) expect(orderOf(row)).toEqual(comparatorOrder(row));
      }
    }
    // A row inside a larger buffer (a subarray at an offset) is read where it lies.
    const rows = Float32Array.from(testRows(64, 1).flatMap((r) => [...r]));
    expect(magnitudeOrderer(64)(rows.subarray(128, 192))).toEqual(comparatorOrder(rows.subarray(128, 192)));
  });

  test('MagPrune keeps the same entries with the same rescaling as with the comparator ranking, bit for bit', () => {
    const cols = 300;
    const rows = testRows(cols, 11).filter((r) => r.every(Number.isFinite));
    const delta64 = Float64Array.from(rows.flatMap((r) => [...r]));
    for (const delta of [delta64, Float32Array.from(delta64)]) {
      const expected = comparatorMagPrune(delta, cols, 0.6, 0.2, 5);
      expect(magPrune(delta, { rows: rows.length, cols }, 0.6, 0.2, xoroshiro128plus(5))).toEqual(expected);
      // In place, as the merge calls it.
      const inPlace = delta.slice();
      magPrune(inPlace, { rows: rows.length, cols }, 0.6, 0.2, xoroshiro128plus(5), inPlace);
      expect(inPlace).toEqual(expected);
    }
  });

  test('with the defaults one adapter comes back as it is; a pruned merge is repeatable and of the largest member rank', async () => {
    const della = implementationOf('della');
    const alone = await della.build([member('task_b')], {});
    if (alone.layout !== 'peft_adapter') throw new Error('della collapses');
    expect(relativeError(alone.adapter, member('task_b').adapter)).toBeLessThan(1e-5);

    const members = ['task_a', 'task_b', 'task_c'].map(member);
    const params = { density: 0.6, epsilon: 0.2, lambda: 1.5, weights: [1, 0.5, 2] };
    const x = await della.build(members, params);
    const y = await della.build(members, params);
    if (x.layout !== 'peft_adapter' || y.layout !== 'peft_adapter') throw new Error('della collapses');
    expect(x.adapter.modules.map((m) => [...m.a])).toEqual(y.adapter.modules.map((m) => [...m.a]));
    expect(x.report.rank).toBe(Math.max(...members.flatMap((m) => m.adapter.modules.map((k) => k.rank))));
    expect(x.report.tasks.map((t) => t.name)).toEqual(['task_a', 'task_b', 'task_c']);
    for (const t of x.report.tasks) expect(t.relativeError).toBeGreaterThan(0);
  });

  test('refuses an epsilon that takes a keep probability out of (0, 1), and its parameters on other methods', () => {
    expect(paramRefusals('della', { density: 0.9, epsilon: 0.15 }, 2)).toEqual([
      expect.objectContaining({ code: 'invalid_field', param: 'epsilon' }),
    ]);
    expect(paramRefusals('della', { density: 0.7, epsilon: 0.15, lambda: 2 }, 2)).toEqual([]);
    expect(paramRefusals('ties', { epsilon: 0.1 }, 2)[0].message).toContain('epsilon does not apply to method "ties"');
  });
});
