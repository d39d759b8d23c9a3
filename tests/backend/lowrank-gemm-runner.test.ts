/**
 * The runtime GEMM runner: every form, single and batched, on onnxruntime agrees with the float64 kernels to
 * float32 accuracy, and small products stay in float64 exactly.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { gemm, gemmBatch, type GemmForm, RUNTIME_MIN_MACS, setRuntimeMinMacs } from '../../gpu-backend/lowrank/gemm-runner.ts';
import { frobenius, type Mat, matmul, matmulNT, matmulTN, zeros } from '../../gpu-backend/lowrank/linalg.ts';

function random(rows: number, cols: number, seed: number): Mat {
  const m = zeros(rows, cols);
  let x = seed;
  for (let i = 0; i < m.data.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    m.data[i] = x / 2147483648 - 0.5;
  }
  return m;
}

const reference = (a: Mat, b: Mat, form: GemmForm) => (form === 'nn' ? matmul(a, b) : form === 'tn' ? matmulTN(a, b) : matmulNT(a, b));
const operands = (form: GemmForm, m: number, k: number, n: number, seed: number): [Mat, Mat] => [
  form === 'tn' ? random(k, m, seed) : random(m, k, seed),
  form === 'nt' ? random(n, k, seed + 1) : random(k, n, seed + 1),
];
function relDiff(x: Mat, y: Mat): number {
  const d = zeros(x.rows, x.cols);
  for (let i = 0; i < d.data.length; i++) d.data[i] = x.data[i] - y.data[i];
  return frobenius(d) / frobenius(y);
}

describe('gemm on the runtime', () => {
  afterAll(() => setRuntimeMinMacs(RUNTIME_MIN_MACS));

  for (const form of ['nn', 'tn', 'nt'] as const) {
    test(`${form}: runtime float32 matches float64 within float32 round-off`, async () => {
      setRuntimeMinMacs(0);
      const [a, b] = operands(form, 37, 91, 23, 3);
      const c = await gemm(a, b, form);
      expect([c.rows, c.cols]).toEqual([37, 23]);
      const diff = relDiff(c, reference(a, b, form));
      expect(diff).toBeLessThan(1e-6);
      expect(diff).toBeGreaterThan(0); // it really ran in float32
    });

    test(`${form}: a batch of pairs is each pair's product`, async () => {
      setRuntimeMinMacs(0);
      const pairs = [0, 1, 2].map((i) => operands(form, 19, 40, 11, 10 + 2 * i));
      const out = await gemmBatch(pairs, form);
      out.forEach((c, i) => expect(relDiff(c, reference(...pairs[i], form))).toBeLessThan(1e-6));
    });
  }

  test('small products stay in float64, exactly', async () => {
    setRuntimeMinMacs(RUNTIME_MIN_MACS);
    const [a, b] = operands('nn', 8, 8, 8, 5);
    expect((await gemm(a, b)).data).toEqual(matmul(a, b).data);
  });

  test('shapes that do not chain are refused', async () => {
    await expect(gemm(random(3, 4, 1), random(5, 2, 2))).rejects.toThrow(/do not chain/);
    await expect(gemmBatch([operands('nn', 2, 3, 4, 1), operands('nn', 2, 3, 5, 1)])).rejects.toThrow(/same shapes/);
  });
});
