/**
 * One member's dense delta B·A of a module, for the rules that merge whole deltas one member at a time
 * (merge-ties-dare.ts): on the runtime in float32 where the product is large, written straight into a Float32Array
 * (the runtime's values, never widened: a float64 copy of each member was what filled the memory), else in float64 JS.
 * `into`: a buffer of the module's size to write a large delta into (the module's members share one).
 */
import { f32 } from '../engine/runtime.ts';
import { gemmCounters, onRuntime } from './gemm-runner.ts';
import { type Mat, matmul } from './linalg.ts';
import type { DenseValues } from './merge-ties-dare.ts';
import { tiesDeltaSession } from './ties-graphs.ts';

export async function memberDelta({ b, a }: { b: Mat; a: Mat }, into?: Float32Array): Promise<DenseValues> {
  const [rows, rank, cols] = [b.rows, b.cols, a.cols];
  if (!onRuntime(rows, rank, cols)) {
    gemmCounters.localMacs += rows * rank * cols;
    return matmul(b, a).data;
  }
  gemmCounters.runtimeMacs += rows * rank * cols;
  const delta = into?.length === rows * cols ? into : new Float32Array(rows * cols);
  await (await tiesDeltaSession()).run(
    { b: f32(Float32Array.from(b.data), [rows, rank]), a: f32(Float32Array.from(a.data), [rank, cols]) },
    { delta: f32(delta, [rows, cols]) },
  );
  return delta;
}
