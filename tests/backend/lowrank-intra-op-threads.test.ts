/**
 * A merge's SVD beside the TIES thread runs its products on one intra-op thread (intra-op-threads.ts): the setting
 * holds across the awaits of the work it wraps and nowhere else, and a product gives the same bits on one thread as
 * on the default, so the merged values do not depend on when the TIES thread was busy.
 */
import { describe, expect, test } from 'vitest';
import { gemm, gemmF32 } from '../../gpu-backend/lowrank/gemm-runner.ts';
import { intraOpThreads, withIntraOpThreads } from '../../gpu-backend/lowrank/intra-op-threads.ts';
import { fromArray } from '../../gpu-backend/lowrank/linalg.ts';

function random(rows: number, cols: number, seed: number) {
  let x = seed;
  return fromArray(
    rows,
    cols,
    Array.from({ length: rows * cols }, () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x / 2 ** 30 - 1;
    }),
  );
}

describe('intra-op threads of the runtime products', () => {
  test('the setting holds inside the wrapped work, across awaits, and is asked anew each time', async () => {
    expect(intraOpThreads()).toBeUndefined();
    let busy = true;
    const seen = await withIntraOpThreads(
      () => (busy ? 1 : undefined),
      async () => {
        const first = intraOpThreads();
        await new Promise((resolve) => setTimeout(resolve, 1));
        const second = intraOpThreads();
        busy = false;
        return [first, second, intraOpThreads()];
      },
    );
    expect(seen).toEqual([1, 1, undefined]);
    expect(intraOpThreads()).toBeUndefined();
  });

  test('a large product on one intra-op thread has the same bits as on the default', async () => {
    const a = random(700, 1100, 1);
    const b = random(1100, 300, 2);
    const forms = async () => [await gemm(a, b), await gemm(a, random(700, 300, 3), 'tn'), await gemmF32(a, random(300, 1100, 4), 'nt')];
    const byDefault = await forms();
    const onOne = await withIntraOpThreads(() => 1, forms);
    for (let i = 0; i < byDefault.length; i++)
      expect(Buffer.from(onOne[i].data.buffer).equals(Buffer.from(byDefault[i].data.buffer))).toBe(true);
  });
});
