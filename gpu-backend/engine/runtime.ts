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

/** How a session treats its graph: optimize it (default), save it optimized, or take it as already optimized. */
export interface GraphHandling {
  /**
   * Write the optimized graph to `modelPath` and its initializers, each MatMul weight with its pre-packed form, to
   * `dataFile` beside it (path-sessions.ts).
   */
  save?: { modelPath: string; dataFile: string };
  /** The graph was saved optimized (`save`): optimizing it again would only repeat that work. */
  optimized?: boolean;
}

/** `model`: the ONNX bytes, or the path of a model file (whose external data sits beside it). */
export async function createSession(
  model: Uint8Array | string,
  opts: RuntimeOptions = {},
  graph: GraphHandling = {},
): Promise<ort.InferenceSession> {
  const session: Record<string, unknown> = {};
  if (opts.spinning === false) session.intra_op = { allow_spinning: '0' };
  if (graph.save)
    Object.assign(session, {
      save_external_prepacked_constant_initializers: '1',
      optimized_model_external_initializers_file_name: graph.save.dataFile,
      // Every weight goes to the data file (a protobuf caps at 2 GB); the graph keeps only small constants.
      optimized_model_external_initializers_min_size_in_bytes: '1024',
    });
  return ort.InferenceSession.create(model as string, {
    intraOpNumThreads: opts.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: graph.optimized ? 'disabled' : 'all',
    executionMode: 'sequential',
    executionProviders: executionProviders(),
    // Saving at level 'all' warns that the graph may hold this machine's own optimizations: it is used only here.
    ...(graph.save ? { optimizedModelFilePath: graph.save.modelPath, logSeverityLevel: 3 as const } : {}),
    ...(Object.keys(session).length > 0 ? { extra: { session } } : {}),
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
