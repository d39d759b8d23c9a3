/**
 * One base model loaded for serving: the inference graph in one onnxruntime session (weights loaded once and
 * shared by every request and adapter), plus the host-side pieces a step needs (RoPE tables, masks).
 * `Decoder.fromFolder(folder, { weightQuantization: { bits: 4 } })` serves the same checkpoint with int4 (or
 * int8) projections and LM head, quantized at load or read as a quantization job stored them (`packedWeights`); steps, LoRA rows and the KV cache are unchanged.
 */
import type { ModelConfig } from '../../contracts/formats/hf-config.ts';
import type { Tensor } from '../../contracts/formats/safetensors.ts';
import type { TensorSource } from '../formats/checkpoint.ts';
import { attentionMask } from './attention-mask.ts';
import { EmbeddingTable } from './embedding-table.ts';
import { io } from './inference-graph.ts';
import type { KvCache } from './kv-cache.ts';
import type { LoraFeeds } from './lora-rows.ts';
import { RopeTables } from './rope.ts';
import { checkWeightQuantization, type WeightQuantization } from './quantized-weights.ts';
import { type LoadOptions, loadInferenceSession } from './load.ts';
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
}

export class Decoder {
  private readonly rope: RopeTables;
  /** Whether the graph takes LoRA inputs (false only for the plain-base graph benchmarks compare against). */
  private readonly hasLora: boolean;

  private constructor(
    readonly cfg: ModelConfig,
    private readonly session: ort.InferenceSession,
    /** How the base weights are served: null for float32. */
    readonly weightQuantization: Required<WeightQuantization> | null,
    /** The token embeddings, looked up on the host each step (embedding-table.ts says why). */
    private readonly embeddings: EmbeddingTable,
  ) {
    this.rope = new RopeTables(cfg);
    this.hasLora = session.inputNames.includes(io.loraA(0, 'qkv'));
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
    const session = await loadInferenceSession(folder.config, source, { ...opts, weightQuantization: quant ?? undefined });
    const { vocabSize, hiddenSize } = folder.config;
    const embeddings = await EmbeddingTable.open(source, weightName.embed, [vocabSize, hiddenSize]).catch(async (e) => {
      await session.release();
      throw e;
    });
    return new Decoder(folder.config, session, quant, embeddings);
  }

  /** Frees the session's weights; the decoder cannot step afterwards (the model cache evicted it). */
  release(): Promise<void> {
    this.embeddings.close();
    return this.session.release();
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
    if (this.hasLora) for (const [name, t] of inp.lora.tensors(rows, { a: io.loraA, c: io.loraC, b: io.loraB })) feeds[name] = t;
    const out = await this.session.run(feeds);
    return {
      logits: out[io.logits].data as Float32Array,
      hidden: out[io.hidden].data as Float32Array,
      present: Array.from({ length: numLayers }, (_, l) => ({
        key: out[io.presentKey(l)].data as Float32Array,
        value: out[io.presentValue(l)].data as Float32Array,
      })),
    };
  }
}
