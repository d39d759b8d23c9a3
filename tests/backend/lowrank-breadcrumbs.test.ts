/** breadcrumbs: mergekit's Model Breadcrumbs on whole deltas (lowrank/methods/breadcrumbs.ts), with mergekit's semantics and defaults. */
import { beforeAll, describe, expect, test } from 'vitest';
import { paramRefusals } from '../../contracts/api/merge-methods.ts';
import { loadFixture, type Fixture } from '../../gpu-backend/cli/parity.ts';
import { relativeError } from '../../gpu-backend/lowrank/delta-distance.ts';
import { mergeCollapsed } from '../../gpu-backend/lowrank/merge-collapsed.ts';
import { dropOutliers } from '../../gpu-backend/lowrank/methods/breadcrumbs.ts';
import { implementationOf } from '../../gpu-backend/lowrank/methods/index.ts';
import { FIXTURE } from './helpers.ts';

let fx: Fixture;
beforeAll(async () => {
  fx = await loadFixture(FIXTURE);
});

const member = (name: string) => ({ name, baseModel: 'tiny-llama', adapter: fx.adapters.get(name)! });

describe('breadcrumbs', () => {
  test('drops the gamma fraction of largest magnitudes, then the smallest, down to density', () => {
    const delta = Float64Array.of(1, -2, 3, -4, 5, -6, 7, -8, 9, -10);
    // N = 10: keep 5, drop the top 1 (−10) and the bottom 4 (1 … −4).
    expect([...dropOutliers(delta, 0.5, 0.1)]).toEqual([0, 0, 0, 0, 5, -6, 7, -8, 9, 0]);
    // gamma too large for density: fewer outliers are dropped (mergekit: n_top += n_bot).
    expect([...dropOutliers(delta, 0.8, 0.5)]).toEqual([1, -2, 3, -4, 5, -6, 7, -8, 0, 0]);
    // ⌊gamma·N⌋ = 0 outliers: only the smallest go.
    expect([...dropOutliers(delta, 0.5, 0.01)]).toEqual([0, 0, 0, 0, 0, -6, 7, -8, 9, -10]);
    // mergekit's default density 1 keeps the delta as it is.
    expect(dropOutliers(delta, 1, 0.01)).toBe(delta);
  });

  test('keeps the entries a stable sort by magnitude ranks in [bottom, N − top), ties at either cut in index order', () => {
    const bySort = (delta: Float64Array, density: number, gamma: number) => {
      const n = delta.length;
      let top = Math.floor(gamma * n);
      let bottom = n - Math.floor(density * n) - top;
      if (bottom < 0) [top, bottom] = [top + bottom, 0];
      const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => Math.abs(delta[x]) - Math.abs(delta[y]));
      const out = new Float64Array(n);
      for (let q = bottom; q < n - top; q++) out[order[q]] = delta[order[q]];
      return out;
    };
    let x = 5;
    // Few distinct magnitudes, so that both cuts fall inside runs of ties.
    const delta = Float64Array.from({ length: 3000 }, () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return ((x % 13) - 6) / 4;
    });
    for (const [density, gamma] of [
      [0.5, 0.1],
      [0.3, 0.05],
      [0.9, 0.3],
      [0.6, 0.01],
      [0.05, 0],
    ])
      expect([...dropOutliers(delta, density, gamma)]).toEqual([...bySort(delta, density, gamma)]);
  });

  test('with the defaults it is task arithmetic truncated to the largest rank; lambda scales the merge', async () => {
    const members = ['task_a', 'task_c'].map(member);
    const breadcrumbs = implementationOf('breadcrumbs');
    const plain = await breadcrumbs.build(members, { weights: [1, 0.5] });
    const halved = await breadcrumbs.build(members, { weights: [1, 0.5], lambda: 0.5 });
    const rank = Math.max(...members.flatMap((m) => m.adapter.modules.map((k) => k.rank)));
    const svd = await mergeCollapsed(members, { method: 'svd', weights: [1, 0.5], rank });
    if (plain.layout !== 'peft_adapter' || halved.layout !== 'peft_adapter') throw new Error('breadcrumbs collapses');
    expect(plain.report.rank).toBe(rank);
    expect(relativeError(plain.adapter, svd.adapter)).toBeLessThan(1e-4);
    const half = await mergeCollapsed(members, { method: 'svd', weights: [0.5, 0.25], rank });
    expect(relativeError(halved.adapter, half.adapter)).toBeLessThan(1e-4);
  });

  test('a sparsified merge keeps each task partly, and its parameters are refused on other methods', async () => {
    const members = ['task_a', 'task_b', 'task_c'].map(member);
    const built = await implementationOf('breadcrumbs').build(members, { density: 0.3, gamma: 0.05 });
    if (built.layout !== 'peft_adapter') throw new Error('breadcrumbs collapses');
    for (const t of built.report.tasks) expect(t.relativeError).toBeGreaterThan(0);
    expect(paramRefusals('breadcrumbs', { density: 0.3, gamma: 0.05, lambda: 2, weights: [1, 1] }, 2)).toEqual([]);
    expect(paramRefusals('dare', { gamma: 0.05 }, 2)[0].message).toContain('gamma does not apply to method "dare"');
  });
});
