/**
 * TIES on the runtime (ties-runtime.ts): the float32 graphs trim exactly k entries per member, elect and
 * average as the float64 combiners do, and a module whose magnitudes tie at the threshold goes the float64 way.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { RUNTIME_MIN_MACS, setRuntimeMinMacs } from '../../gpu-backend/lowrank/gemm-runner.ts';
import { loadFixture } from '../../gpu-backend/cli/parity.ts';
import { relativeError } from '../../gpu-backend/lowrank/delta-distance.ts';
import { fromArray, matmul } from '../../gpu-backend/lowrank/linalg.ts';
import { mergeCollapsed } from '../../gpu-backend/lowrank/merge-collapsed.ts';
import { disjointMean, magnitudeTrim } from '../../gpu-backend/lowrank/merge-ties-dare.ts';
import { giveBackRows, tiesOffThread } from '../../gpu-backend/lowrank/ties-offthread.ts';
import { selectMagnitude } from '../../gpu-backend/lowrank/quickselect.ts';
import { tiesOnRuntime } from '../../gpu-backend/lowrank/ties-runtime.ts';
import { FIXTURE, randomMat } from './helpers.ts';

/** Members of ranks 8, 6, 8, 5 on a 96×160 module (the runtime zero-pads the lower ranks). */
const factors = [8, 6, 8, 5].map((r, i) => ({ b: randomMat(96, r, 10 + i), a: randomMat(r, 160, 20 + i) }));
const weights = [1, 0.5, -0.7, 2];

function reference(density: number): Float64Array {
  return disjointMean(
    factors.map((f) => magnitudeTrim(matmul(f.b, f.a).data, density)),
    weights,
  );
}

function maxDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let d = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
  }
  return d / scale;
}

describe('TIES on the runtime', () => {
  afterAll(() => setRuntimeMinMacs(RUNTIME_MIN_MACS));

  for (const side of ['kernels', 'graphs'] as const) {
    for (const density of [0.2, 0.5, 0.9, 1]) {
      test(`${side}, density ${density}: the float64 TIES of the same deltas, to float32 round-off`, async () => {
        const merged = await tiesOnRuntime(factors, weights, density, 0, { side });
        expect([merged.rows, merged.cols]).toEqual([96, 160]);
        expect(maxDiff(merged.data, reference(density))).toBeLessThan(1e-5);
      });
    }

    test(`${side}: a module whose blocks are not whole vectors of four (97×163)`, async () => {
      const odd = [4, 3].map((r, i) => ({ b: randomMat(97, r, 30 + i), a: randomMat(r, 163, 40 + i) }));
      const expected = disjointMean(
        odd.map((f) => magnitudeTrim(matmul(f.b, f.a).data, 0.4)),
        [1, -2],
      );
      const merged = await tiesOnRuntime(odd, [1, -2], 0.4, 1, { side });
      expect(maxDiff(merged.data, expected)).toBeLessThan(1e-5);
    });
  }

  test('brackets from a small sample, with no margin, miss and are widened until they hold the k-th magnitude', async () => {
    // 64 draws and no standard deviations of margin: each member's bracket misses about half the time.
    for (const side of ['kernels', 'graphs'] as const) {
      for (const seed of [1, 2, 3]) {
        const merged = await tiesOnRuntime(factors, weights, 0.3, seed, { sample: 64, sigmas: 0, side });
        expect(maxDiff(merged.data, reference(0.3))).toBeLessThan(1e-5);
      }
    }
  });

  test('members so many that one pass would keep too many records merge in two passes, to the same result', async () => {
    // 16 members on 96×160: brackets of ~3.7% each leave ~45% of the positions unsure, above the one-pass limit of a third.
    const many = Array.from({ length: 16 }, (_, i) => ({ b: randomMat(96, 3, 50 + i), a: randomMat(3, 160, 70 + i) }));
    const w = many.map((_, i) => 1 + i / 10);
    const expected = disjointMean(
      many.map((f) => magnitudeTrim(matmul(f.b, f.a).data, 0.5)),
      w,
    );
    const merged = await tiesOnRuntime(many, w, 0.5, 0, { side: 'kernels' });
    expect(maxDiff(merged.data, expected)).toBeLessThan(1e-5);
  });

  test('ties across blocks of rows: kept whole before the cut, dropped after it', async () => {
    // 2048×2048 in blocks of 1024 rows for two members: the cut (at 0.3 of the entries) lies in the first block.
    const ones = { b: fromArray(2048, 1, new Array(2048).fill(0.5)), a: fromArray(1, 2048, new Array(2048).fill(-1)) };
    const other = { b: randomMat(2048, 4, 5), a: randomMat(4, 2048, 6) };
    const expected = disjointMean(
      [other, ones].map((f) => magnitudeTrim(matmul(f.b, f.a).data, 0.3)),
      [1, 2],
    );
    for (const side of ['kernels', 'graphs'] as const) {
      const merged = await tiesOnRuntime([other, ones], [1, 2], 0.3, 0, { side });
      expect(maxDiff(merged.data, expected)).toBeLessThan(1e-5);
    }
  });

  test('one pass over a module of several blocks: unsure values finished across the blocks, as in float64', async () => {
    // 2 members on 1100×2048: blocks of 1024 rows, so the records and lists of the second block follow the first's.
    const pair = [0, 1].map((i) => ({ b: randomMat(1100, 4, 80 + i), a: randomMat(4, 2048, 90 + i) }));
    const expected = disjointMean(
      pair.map((f) => magnitudeTrim(matmul(f.b, f.a).data, 0.3)),
      [1, -0.5],
    );
    const merged = await tiesOnRuntime(pair, [1, -0.5], 0.3, 2, { side: 'kernels' });
    expect(maxDiff(merged.data, expected)).toBeLessThan(1e-5);
  });

  test('the radix select of a magnitude is the sorted magnitudes at that index, ties, ±0, subnormals and ±Infinity included', () => {
    const rows = [
      Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453),
      Float32Array.from({ length: 3001 }, (_, i) => [0, -0, 1e-45, -1e-45, 2.5, -2.5, Infinity, -Infinity, 1e-39][i % 9]),
    ];
    for (const x of rows) {
      const sorted = Float32Array.from(x, Math.abs).sort();
      for (const nth of [0, 1, 17, Math.floor(x.length / 2), x.length - 2, x.length - 1]) expect(selectMagnitude(x, nth)).toBe(sorted[nth]);
    }
  });

  test('density so small that nothing is kept gives a zero delta', async () => {
    const merged = await tiesOnRuntime(factors, weights, 1e-6, 0);
    expect(merged.data.every((v) => v === 0)).toBe(true);
  });

  test('magnitudes tied at the threshold are kept in row-major order until exactly k are kept', async () => {
    // Every entry of the first member has magnitude 1: its kept half is the first 48 rows, as magnitudeTrim keeps.
    const ones = { b: fromArray(96, 1, new Array(96).fill(1)), a: fromArray(1, 160, new Array(160).fill(1)) };
    const pair = [ones, factors[0]];
    const merged = await tiesOnRuntime(pair, [1, 1], 0.5, 0);
    const expected = disjointMean(
      pair.map((f) => magnitudeTrim(matmul(f.b, f.a).data, 0.5)),
      [1, 1],
    );
    expect(maxDiff(merged.data, expected)).toBeLessThan(1e-5);
  });

  test('off the main thread a module merges to exactly the same values, its kernels kept from module to module', async () => {
    const here = await tiesOnRuntime(factors, weights, 0.5, 3, { side: 'kernels' });
    const again = await tiesOnRuntime(factors, weights, 0.3, 3, { side: 'kernels' });
    // As many members, on several blocks of rows.
    const large = [0, 1, 2, 3].map((i) => ({ b: randomMat(700, 4, 80 + i), a: randomMat(4, 2048, 90 + i) }));
    const largeHere = await tiesOnRuntime(large, [1, -0.5, 2, 1], 0.3, 2, { side: 'kernels' });
    const there = await tiesOffThread(factors, weights, 0.5, 3);
    expect([there.rows, there.cols]).toEqual([96, 160]);
    expect(there.data).toEqual(here.data);
    expect((await tiesOffThread(large, [1, -0.5, 2, 1], 0.3, 2)).data).toEqual(largeHere.data);
    // After a larger module, in the kernels it left (their parts placed for it).
    expect((await tiesOffThread(factors, weights, 0.3, 3)).data).toEqual(again.data);
  });

  test('off the main thread a module written into rows given back is the same, and the rows given back are no longer readable', async () => {
    const large = [0, 1, 2].map((i) => ({ b: randomMat(640, 4, 30 + i), a: randomMat(4, 2048, 40 + i) }));
    const here = await tiesOnRuntime(factors, weights, 0.4, 5, { side: 'kernels' });
    const first = await tiesOffThread(large, [1, 2, -1], 0.5, 1);
    const firstValues = Float32Array.from(first.data);
    giveBackRows(first);
    // The rows moved to the thread: what the caller held is detached, not silently shared.
    expect(first.data.length).toBe(0);
    // A smaller module into the larger rows, which still hold the first module's values past its own.
    const second = await tiesOffThread(factors, weights, 0.4, 5);
    expect([second.data.length, second.data.buffer.byteLength]).toEqual([96 * 160, 4 * 640 * 2048]);
    expect(second.data).toEqual(here.data);
    giveBackRows(second);
    expect((await tiesOffThread(large, [1, 2, -1], 0.5, 1)).data).toEqual(firstValues);
    // A buffer the thread did not write is left alone.
    const own = new Float32Array(96 * 160);
    giveBackRows({ rows: 96, cols: 160, data: own });
    expect(own.length).toBe(96 * 160);
  });

  test('a TIES merge whose modules run on the runtime is the float64 merge, to float32 round-off', async () => {
    const fx = await loadFixture(FIXTURE);
    const members = ['task_a', 'task_b', 'task_c'].map((name) => ({ name, baseModel: 'tiny-llama', adapter: fx.adapters.get(name)! }));
    setRuntimeMinMacs(Number.POSITIVE_INFINITY);
    const exact = await mergeCollapsed(members, { method: 'ties', density: 0.3, weights: [1, 0.5, 2] });
    setRuntimeMinMacs(0);
    const fp32 = await mergeCollapsed(members, { method: 'ties', density: 0.3, weights: [1, 0.5, 2] });
    const error = relativeError(fp32.adapter, exact.adapter);
    expect(error).toBeLessThan(1e-4);
  });
});
