/** onnxruntime-node sessions, configured once for the whole engine. */
import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { executionProviders } from './providers.ts';

export { ort };

export interface RuntimeOptions {
  /** Threads for one operator (default: all cores). */
  threads?: number;
  /**
   * Whether idle intra-op threads spin between runs (onnxruntime's default: lower latency for a decode loop).
   * false for callers that interleave many short runs with their own CPU work, where spinning threads take the
   * cores that work needs.
   */
  spinning?: boolean;
  /** Write onnxruntime's per-node profile to `<prefix>_<time>.json` when the session is released (benchmarks). */
  profileFilePrefix?: string;
}

/** `model`: the ONNX bytes, or the path of a model file (whose external data sits beside it). */
export async function createSession(model: Uint8Array | string, opts: RuntimeOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model as string, {
    intraOpNumThreads: opts.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    executionProviders: executionProviders(),
    ...(opts.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
    ...(opts.profileFilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profileFilePrefix } : {}),
  });
}

export function f32(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

export function i64(data: ArrayLike<number> | BigInt64Array, dims: readonly number[]): ort.Tensor {
  const arr = data instanceof BigInt64Array ? data : BigInt64Array.from(Array.from(data as ArrayLike<number>), (x) => BigInt(x));
  return new ort.Tensor('int64', arr, dims);
}
