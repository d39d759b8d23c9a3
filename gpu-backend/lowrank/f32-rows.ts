/**
 * A float32 matrix held as blocks of rows (a TIES merge's shares, one per thread of its pool), and the products a
 * randomized SVD takes of it, block by block: onnxruntime refuses tensors on shared memory, and copying the blocks
 * into one array would hold the merged delta twice.
 */
import { type F32Mat, gemmF32 } from './gemm-runner.ts';
import { type Mat, rowBlock } from './linalg.ts';

export interface F32Rows {
  rows: number;
  cols: number;
  /** In row order, each of `cols` columns. */
  parts: F32Mat[];
}

export const isRows = (a: Mat | F32Mat | F32Rows): a is F32Rows => 'parts' in a;

/** a·x ('nn') or a·xᵀ ('nt'): each block's rows of the result. */
export async function rowsTimes(a: F32Rows, x: Mat, form: 'nn' | 'nt'): Promise<Mat> {
  const n = form === 'nn' ? x.cols : x.rows;
  const out: Mat = { rows: a.rows, cols: n, data: new Float64Array(a.rows * n) };
  let row = 0;
  for (const part of a.parts) {
    out.data.set((await gemmF32(part, x, form)).data, row * n);
    row += part.rows;
  }
  return out;
}

/** aᵀ·x ('a' first) or xᵀ·a ('a' second): the sum over the blocks of their rows' products. */
export async function rowsTransposeTimes(a: F32Rows, x: Mat, aFirst: boolean): Promise<Mat> {
  let sum: Mat | null = null;
  let row = 0;
  for (const part of a.parts) {
    const xs = rowBlock(x, row, row + part.rows);
    const p = aFirst ? await gemmF32(part, xs, 'tn') : await gemmF32(xs, part, 'tn');
    if (sum) for (let i = 0; i < p.data.length; i++) sum.data[i] += p.data[i];
    else sum = p;
    row += part.rows;
  }
  return sum!;
}
