/**
 * Loading a base model into an onnxruntime session, in five steps. What each holds in memory, for a model whose
 * served weights (float32, or packed int8/int4) take W bytes:
 *  1. check every weight's name and shape against config.json, from the headers alone (nothing read);
 *  2. build the graph with each weight as a placeholder pointing outside it (no values, a few hundred KB); with
 *     ENGINE_PRECISION=fp16, rewrite it to float16 (fp16.ts);
 *  3. point each weight at its bytes: a weight served as stored (the packed parts a quantization job wrote, a
 *     float32 checkpoint's tensors in a float32 graph) stays in its file, hard-linked into `scratchDir`, and nothing
 *     is read; the others are written into one external-data file there, one tensor at a time: read from its shard
 *     (copy 1, as stored), widened to float32 or quantized (copy 2, as served; a float16 weight narrowed from that
 *     float32, copy 3), written and dropped, so the process holds at most one tensor in each form, never the model;
 *  4. write the graph beside that file and let onnxruntime create the session from the path: it copies each
 *     weight into its own memory (MatMul weights pre-packed, the others mapped from the file), about W in all,
 *     plus one tensor's worth while it packs;
 *  5. delete the files and links: the session holds what it needs (a mapping outlives its file's name).
 * Peak: about W plus the largest tensor twice (measured in bench/scale.ts).
 * Float32 weights on the CPU take one more step between 4 and 5 (path-sessions.ts): the session of step 4 saves the
 * optimized graph with the weights pre-packed into one data file and is released, and each graph path's session
 * (graph-variants.ts) maps that file: W once in memory (pre-packed), shared by all of them, and about 2 W on disk
 * while they load.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelConfig } from '../../contracts/formats/hf-config.ts';
import type { TensorSource } from '../formats/checkpoint.ts';
import { ExternalWeights } from './external-weights.ts';
import { type KeepFloat32, toFloat16 } from './fp16.ts';
import { buildInferenceGraph, type InferenceGraphOptions, io } from './inference-graph.ts';
import type { GraphPath } from './graph-variants.ts';
import { loadPathSessions } from './path-sessions.ts';
import { type EnginePrecision, enginePrecisionInUse } from './precision.ts';
import { executionProviderInUse } from './providers.ts';
import { isQuantizedWeight } from './quantized-weights.ts';
import { createSession, type ort, type RuntimeOptions } from './runtime.ts';
import { checkWeightShapes } from './weights.ts';

export interface LoadOptions extends RuntimeOptions, InferenceGraphOptions {
  /** Packed MatMulNBits weights stored by a quantization job, loaded as they are (with `weightQuantization`). */
  packedWeights?: TensorSource;
  /** Where the weights file is written while the session loads (default: the OS temp folder). */
  scratchDir?: string;
  /** The graph's float type (default: ENGINE_PRECISION's, which refuses fp16 off WebGPU; benchmarks pick their own). */
  precision?: EnginePrecision;
  /**
   * Graph paths to load as sessions on one pre-packed copy of the weights (path-sessions.ts), where the weights
   * allow it (float32 on the CPU). Default: SERVED_PATHS; `[]` loads the one graph as built into one session, as
   * quantized and GPU bases always do (benchmarks compare both).
   */
  paths?: readonly GraphPath[];
}

/** The paths a float32 base serves by default, the graph as built first (graph-variants.ts). */
export const SERVED_PATHS: readonly GraphPath[] = ['shared', 'adapters', 'base'];

/** What fp16 keeps in float32 in the serving graph, for range (fp16.ts says why). */
export const KEEP_FLOAT32: KeepFloat32 = {
  scopes: ['input_layernorm', 'post_attention_layernorm', 'norm'],
  ops: ['Softmax'],
  inputs: [io.mask],
};

/**
 * The serving graph's sessions by path: every path for a base that can share its weights between sessions, else the
 * one graph as built under 'shared' (with LoRA inputs) or 'base' (`lora: false`), which serves every batch.
 */
export async function loadInferenceSessions(
  cfg: ModelConfig,
  checkpoint: TensorSource,
  opts: LoadOptions = {},
): Promise<Map<GraphPath, ort.InferenceSession>> {
  // With stored packed weights, the checkpoint need hold only the rest (an @int4 load fetches only that).
  checkWeightShapes(cfg, checkpoint, opts.packedWeights ? isQuantizedWeight : undefined);
  const weights = new ExternalWeights();
  const graph = buildInferenceGraph(cfg, weights, opts);
  const precision = opts.precision ?? enginePrecisionInUse();
  if (precision === 'fp16') toFloat16(graph, KEEP_FLOAT32);
  const dir = await mkdtemp(join(opts.scratchDir ?? tmpdir(), 'rankgate-load-'));
  try {
    await weights.write(dir, { checkpoint, packed: opts.packedWeights });
    await writeFile(join(dir, 'model.onnx'), graph.toOnnx());
    const asBuilt: GraphPath = opts.lora === false ? 'base' : 'shared';
    const shareable = !opts.weightQuantization && precision === 'fp32' && executionProviderInUse() === 'cpu';
    const paths = opts.lora === false ? ['base' as const] : (opts.paths ?? SERVED_PATHS);
    if (!shareable || paths.length === 0) return new Map([[asBuilt, await createSession(join(dir, 'model.onnx'), opts)]]);
    if (paths[0] !== asBuilt) throw new Error(`the first path must be the graph as built (${asBuilt}), not ${paths[0]}`);
    return await loadPathSessions(dir, 'model.onnx', paths, opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The serving graph as built in one session (tools that inspect one session: tests/webgpu/placement-child.ts). */
export async function loadInferenceSession(
  cfg: ModelConfig,
  checkpoint: TensorSource,
  opts: LoadOptions = {},
): Promise<ort.InferenceSession> {
  const [session] = (await loadInferenceSessions(cfg, checkpoint, { ...opts, paths: [] })).values();
  return session;
}
