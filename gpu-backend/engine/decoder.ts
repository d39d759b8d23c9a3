/**
 * One base model loaded for serving: the inference graph in onnxruntime sessions (weights loaded once and shared by
 * every request and adapter): one per graph path where a float32 base's sessions can share its weights
 * (path-sessions.ts), each step running the one its rows need; else the one graph as built. Plus the host-side
 * pieces a step needs (RoPE tables, masks).
 * `Decoder.fromFolder(folder, { weightQuantization: { bits: 4 } })` serves the same checkpoint with int4 (or
 * int8) projections and LM head, quantized at load or read as a quantization job stored them (`packedWeights`); steps, LoRA rows and the KV cache are unchanged.
 */
import type { ModelConfig } from '../../contracts/formats/hf-config.ts';
import type { Tensor } from '../../contracts/formats/safetensors.ts';
import type { TensorSource } from '../formats/checkpoint.ts';
import { attentionMask } from './attention-mask.ts';
import { EmbeddingTable } from './embedding-table.ts';
import { GRAPH_PATHS, type GraphPath } from './graph-variants.ts';
import { io } from './inference-graph.ts';
import type { KvCache } from './kv-cache.ts';
import type { LoraFeeds } from './lora-rows.ts';
import { RopeTables } from './rope.ts';
import { checkWeightQuantization, type WeightQuantization } from './quantized-weights.ts';
import { type LoadOptions, loadInferenceSessions } from './load.ts';
import { f32, i64, type ort } from './runtime.ts';
import { weightName } from './llama.ts';
import { mapSource } from './weights.ts';

export interface StepInput {
  /** Token ids, [rows, seq], right-padded. */
  tokens: ArrayLike<number>;
  rows: number;
  seq: number;
  /** Real (unpadded) new tokens per row. */
  newLengths: ArrayLike<number>;
  /** Cache holding earlier positions of each row (rows [cacheRow, cacheRow + rows)), or null for a fresh prefill. */
  cache: KvCache | null;
  /** The cache row of this step's first row (default 0). */
  cacheRow?: number;
  /** Each row's adapter or shared-basis task. */
  lora: LoraFeeds;
  /** Positions (within this step's new tokens) whose logits to return, per row; the same count for every row. */
  logitsAt: number[][];
}

export interface StepOutput {
  /** [rows, n, vocab] */
  logits: Float32Array;
  /** [rows, seq, hidden_size]: the last hidden state after the final norm, at every position (embedding.ts pools it). */
  hidden: Float32Array;
  present: { key: Float32Array; value: Float32Array }[];
  /** The graph path whose session ran the step. */
  path: GraphPath;
}

/** A path's session, and whether it takes the LoRA factors and the cores. */
interface PathSession {
  path: GraphPath;
  session: ort.InferenceSession;
  factors: boolean;
  cores: boolean;
}

export class Decoder {
  private readonly rope: RopeTables;
  /** The session each path runs on: its own, else the nearest richer one loaded (the graph as built serves all). */
  private readonly byPath: Record<GraphPath, PathSession>;

  private constructor(
    readonly cfg: ModelConfig,
    private readonly sessions: Map<GraphPath, ort.InferenceSession>,
    /** How the base weights are served: null for float32. */
    readonly weightQuantization: Required<WeightQuantization> | null,
    /** The token embeddings, looked up on the host each step (embedding-table.ts says why). */
    private readonly embeddings: EmbeddingTable,
  ) {
    this.rope = new RopeTables(cfg);
    const loaded = (path: GraphPath): PathSession | undefined => {
      const session = sessions.get(path);
      if (!session) return undefined;
      const factors = session.inputNames.includes(io.loraA(0, 'qkv'));
      return { path, session, factors, cores: factors && session.inputNames.includes(io.loraC(0, 'qkv')) };
    };
    // Paths in order of what they serve: a path not loaded runs on the next one that is.
    const byPath = {} as Record<GraphPath, PathSession>;
    for (const [i, path] of GRAPH_PATHS.entries())
      byPath[path] =
        GRAPH_PATHS.slice(i)
          .map(loaded)
          .find((s) => s) ??
        [...GRAPH_PATHS]
          .reverse()
          .map(loaded)
          .find((s) => s)!;
    this.byPath = byPath;
  }

  /** The paths loaded as sessions of their own. */
  get paths(): GraphPath[] {
    return [...this.sessions.keys()];
  }

  /**
   * Loads `folder`'s weights (in memory, or a checkpoint read tensor by tensor: load.ts has the steps).
   * Throws InvalidInputError (unsupported_weight_bits, checkpoint_shape_mismatch, ...) for what it cannot serve.
   */
  static async fromFolder(
    folder: { config: ModelConfig; weights: Map<string, Tensor> | TensorSource },
    opts: LoadOptions = {},
  ): Promise<Decoder> {
    const quant = opts.weightQuantization ? checkWeightQuantization(opts.weightQuantization) : null;
    const source = folder.weights instanceof Map ? mapSource(folder.weights) : folder.weights;
    const sessions = await loadInferenceSessions(folder.config, source, { ...opts, weightQuantization: quant ?? undefined });
    const { vocabSize, hiddenSize } = folder.config;
    const embeddings = await EmbeddingTable.open(source, weightName.embed, [vocabSize, hiddenSize]).catch(async (e) => {
      await Promise.all([...sessions.values()].map((s) => s.release()));
      throw e;
    });
    return new Decoder(folder.config, sessions, quant, embeddings);
  }

  /** Frees the sessions' weights; the decoder cannot step afterwards (the model cache evicted it). */
  async release(): Promise<void> {
    this.embeddings.close();
    await Promise.all([...this.sessions.values()].map((s) => s.release()));
  }

  async step(inp: StepInput): Promise<StepOutput> {
    const { rows, seq, cache } = inp;
    const { numKvHeads: kvH, headDim: hd, numLayers } = this.cfg;
    // Without a cache, one free (masked) cache position rather than none: see the feeds below.
    const past = cache?.capacity ?? 1;
    const first = inp.cacheRow ?? 0;
    const start = Array.from({ length: rows }, (_, r) => (cache ? cache.lengths[first + r] : 0));
    const { cos, sin } = this.rope.fill(start, seq);
    const nLogits = inp.logitsAt[0]?.length ?? 0;
    const feeds: Record<string, ort.Tensor> = {
      [io.inputsEmbeds]: f32(this.embeddings.lookup(inp.tokens), [rows, seq, this.cfg.hiddenSize]),
      [io.cos]: f32(cos, [rows, seq, 1, hd]),
      [io.sin]: f32(sin, [rows, seq, 1, hd]),
      [io.mask]: f32(attentionMask({ rows, seq, past, start, newLengths: inp.newLengths, window: this.cfg.slidingWindow }), [
        rows,
        1,
        1,
        seq,
        past + seq,
      ]),
      [io.logitsIndex]: i64(inp.logitsAt.flat(), [rows, nLogits]),
    };
    if (cache) for (const [name, t] of cache.tensors(rows, { key: io.pastKey, value: io.pastValue }, first)) feeds[name] = t;
    else {
      // An empty cache would make the graph multiply probabilities [.., seq, 0] by values [.., 0, hd]: a MatMul
      // over an empty inner dimension, which crashes onnxruntime 1.30's WebGPU provider (SIGSEGV) and leaves
      // batches uninitialised on its CPU provider. One zero position that the mask hides (start 0) adds nothing.
      const free = f32(new Float32Array(rows * kvH * hd), [rows, kvH, 1, hd]);
      for (let l = 0; l < numLayers; l++) feeds[io.pastKey(l)] = feeds[io.pastValue(l)] = free;
    }
    const run = this.byPath[inp.lora.path(rows)];
    if (run.factors)
      for (const [name, t] of inp.lora.tensors(rows, { a: io.loraA, c: run.cores ? io.loraC : undefined, b: io.loraB })) feeds[name] = t;
    const out = await run.session.run(feeds);
    return {
      logits: out[io.logits].data as Float32Array,
      hidden: out[io.hidden].data as Float32Array,
      present: Array.from({ length: numLayers }, (_, l) => ({
        key: out[io.presentKey(l)].data as Float32Array,
        value: out[io.presentValue(l)].data as Float32Array,
      })),
      path: run.path,
    };
  }
}
