/**
 * Loss and gradients of a causal-LM batch, layer by layer: the forward pass keeps only each layer's input; the
 * head computes the loss and its gradient in row chunks (so [rows, vocab] logits never exist for the whole
 * batch); the backward pass walks the layers in reverse, each recomputing its forward inside the backward
 * graph. Peak activation memory is therefore (layers + 1) hidden states plus one layer's intermediates.
 *
 * Trainable parameters are named as PEFT names them in adapter_model.safetensors
 * (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`), or, in full-parameter training, as the
 * checkpoint names them (`model.layers.0.self_attn.q_proj.weight`).
 */
import { modulePath, PROJECTIONS, projectionShape, type ModelConfig, type Projection } from '../../contracts/formats/hf-config.ts';
import { peftKey, type LoraTarget } from '../../contracts/formats/peft-config.ts';
import { causalMask } from '../engine/attention-mask.ts';
import { hasBias, weightName } from '../engine/llama.ts';
import { RopeTables } from '../engine/rope.ts';
import { createSession, f32, i64, type ort, type RuntimeOptions } from '../engine/runtime.ts';
import { buildHeadGraph, buildLayerGraph, headIo, layerGraphKey, layerIo, type LayerGraphSpec } from '../engine/train-graphs.ts';
import { IGNORE } from './data.ts';

/** A batch of token rows, right-padded: `labels` uses IGNORE for positions that carry no loss, as transformers does. */
export interface TokenBatch {
  batch: number;
  seq: number;
  inputIds: Int32Array;
  labels: Int32Array;
  /** Real tokens per row (the rest is padding, masked out of attention). */
  lengths: number[];
}

export interface LossAndGrads {
  /** Σ over target tokens of weight · NLL, with the weight given by `lossScale`. */
  loss: number;
  /** Target tokens (labels ≠ IGNORE after the shift) in this batch. */
  targets: number;
  grads: Map<string, Float32Array>;
}

export type Trainable = { kind: 'lora'; targets: LoraTarget[] } | { kind: 'full' };

export interface BackpropOptions extends RuntimeOptions {
  /** Rows per head chunk (bounds the [rows, vocab] logits buffer). */
  headRows?: number;
}

export class Backprop {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly rope: RopeTables;
  private readonly layerLora: Partial<Record<Projection, { rank: number; scale: number }>>[];

  constructor(
    readonly cfg: ModelConfig,
    /** Base weights (float32, checkpoint names); in full training these are also the parameters. */
    readonly weights: Map<string, Float32Array>,
    readonly trainable: Trainable,
    /** LoRA tensors by PEFT key (ignored in full training). */
    readonly lora: Map<string, Float32Array>,
    private readonly opts: BackpropOptions = {},
  ) {
    this.rope = new RopeTables(cfg);
    this.layerLora = Array.from({ length: cfg.numLayers }, () => ({}));
    if (trainable.kind === 'lora')
      for (const t of trainable.targets) this.layerLora[t.layer][t.projection] = { rank: t.rank, scale: t.scale };
  }

  private session(key: string, build: () => Uint8Array): Promise<ort.InferenceSession> {
    let s = this.sessions.get(key);
    if (!s) {
      s = createSession(build(), this.opts);
      this.sessions.set(key, s);
    }
    return s;
  }

  private layerSpec(layer: number, batch: number, seq: number): LayerGraphSpec {
    return { batch, seq, lora: this.layerLora[layer], trainWeights: this.trainable.kind === 'full' };
  }

  private layerSession(layer: number, batch: number, seq: number, withBackward: boolean): Promise<ort.InferenceSession> {
    const spec = this.layerSpec(layer, batch, seq);
    return this.session(layerGraphKey(spec, withBackward), () => buildLayerGraph(this.cfg, spec, withBackward).toOnnx());
  }

  /** Feeds a layer's weights and LoRA tensors by the graph's local names; returns local name -> global name. */
  private layerParams(layer: number, feeds: Record<string, ort.Tensor>): Map<string, string> {
    const names = new Map<string, string>();
    const cfg = this.cfg;
    const put = (local: string, global: string, dims: number[], source: Map<string, Float32Array>) => {
      feeds[local] = f32(source.get(global)!, dims);
      names.set(local, global);
    };
    put(layerIo.inputNorm, weightName.inputNorm(layer), [cfg.hiddenSize], this.weights);
    put(layerIo.postNorm, weightName.postNorm(layer), [cfg.hiddenSize], this.weights);
    for (const p of PROJECTIONS) {
      const { in: fanIn, out } = projectionShape(cfg, p);
      put(layerIo.proj(p), weightName.proj(layer, p), [out, fanIn], this.weights);
      if (hasBias(cfg, p)) put(layerIo.bias(p), weightName.bias(layer, p), [out], this.weights);
      const l = this.layerLora[layer][p];
      if (l) {
        put(layerIo.loraA(p), peftKey(modulePath(layer, p), 'lora_A'), [l.rank, fanIn], this.lora);
        put(layerIo.loraB(p), peftKey(modulePath(layer, p), 'lora_B'), [out, l.rank], this.lora);
      }
    }
    return names;
  }

  /** Loss of `batch` and, unless `withGrads` is false, the gradients of the trainable parameters. */
  async run(batch: TokenBatch, lossScale: number, withGrads = true): Promise<LossAndGrads> {
    const common = this.positionFeeds(batch);
    const xs = await this.forward(batch, common);
    const grads = new Map<string, Float32Array>();
    const { loss, targets, dh } = await this.head(batch, xs[this.cfg.numLayers], lossScale, withGrads ? grads : null);
    if (!withGrads) return { loss, targets, grads };
    const dx = await this.backward(batch, common, xs, dh, grads);
    if (this.trainable.kind === 'full') this.embeddingGrad(batch, dx, grads);
    return { loss, targets, grads };
  }

  /** What every layer takes besides its input: RoPE tables and the attention mask. */
  private positionFeeds(batch: TokenBatch): Record<string, ort.Tensor> {
    const { batch: B, seq: T } = batch;
    const { cos, sin } = this.rope.fill(new Array(B).fill(0), T);
    return {
      [layerIo.cos]: f32(cos, [B, T, 1, this.cfg.headDim]),
      [layerIo.sin]: f32(sin, [B, T, 1, this.cfg.headDim]),
      [layerIo.mask]: f32(causalMask(batch.lengths, T), [B, 1, 1, T, T]),
    };
  }

  /** The embedded tokens and each layer's output: xs[l] is layer l's input, xs[numLayers] the last hidden state. */
  private async forward(batch: TokenBatch, common: Record<string, ort.Tensor>): Promise<Float32Array[]> {
    const { batch: B, seq: T } = batch;
    const D = this.cfg.hiddenSize;
    const embed = this.weights.get(weightName.embed)!;
    const x0 = new Float32Array(B * T * D);
    for (let i = 0; i < B * T; i++) x0.set(embed.subarray(batch.inputIds[i] * D, (batch.inputIds[i] + 1) * D), i * D);
    const xs: Float32Array[] = [x0];
    for (let l = 0; l < this.cfg.numLayers; l++) {
      const feeds = { ...common, [layerIo.x]: f32(xs[l], [B, T, D]) };
      this.layerParams(l, feeds);
      const out = await (await this.layerSession(l, B, T, false)).run(feeds);
      xs.push(out[layerIo.y].data as Float32Array);
    }
    return xs;
  }

  /**
   * Loss and its gradient dh with respect to the last hidden state, chunk by chunk of rows; in full training
   * the final norm's and the LM head's gradients go into `grads` (when given).
   */
  private async head(batch: TokenBatch, hLast: Float32Array, lossScale: number, grads: Map<string, Float32Array> | null) {
    const cfg = this.cfg;
    const D = cfg.hiddenSize;
    const rows = batch.batch * batch.seq;
    const { labels, weights, targets } = shiftedTargets(batch, lossScale);
    const full = this.trainable.kind === 'full';
    const chunk = Math.min(this.opts.headRows ?? 256, rows);
    const session = await this.session(`head|${chunk}|${full}`, () => buildHeadGraph(cfg, chunk, full).toOnnx());
    const lmHeadName = cfg.tieWordEmbeddings ? weightName.embed : weightName.lmHead;
    const dh = new Float32Array(rows * D);
    let loss = 0;
    for (let start = 0; start < rows; start += chunk) {
      const n = Math.min(chunk, rows - start);
      const out = await session.run({
        [headIo.h]: f32(chunkOf(hLast, start, n, chunk, D, Float32Array), [chunk, D]),
        [headIo.norm]: f32(this.weights.get(weightName.norm)!, [D]),
        [headIo.lmHead]: f32(this.weights.get(lmHeadName)!, [cfg.vocabSize, D]),
        [headIo.labels]: i64(chunkOf(labels, start, n, chunk, 1, BigInt64Array), [chunk]),
        [headIo.weights]: f32(chunkOf(weights, start, n, chunk, 1, Float32Array), [chunk]),
      });
      loss += (out[headIo.loss].data as Float32Array)[0];
      dh.set((out[headIo.dh].data as Float32Array).subarray(0, n * D), start * D);
      if (full && grads) {
        accumulate(grads, weightName.norm, out[headIo.grad(headIo.norm)].data as Float32Array);
        accumulate(grads, lmHeadName, out[headIo.grad(headIo.lmHead)].data as Float32Array);
      }
    }
    return { loss, targets, dh };
  }

  /**
   * Backward through the layers, newest first, each recomputing its forward; adds every parameter gradient to
   * `grads` and returns the gradient of the first layer's input.
   */
  private async backward(
    batch: TokenBatch,
    common: Record<string, ort.Tensor>,
    xs: Float32Array[],
    dh: Float32Array,
    grads: Map<string, Float32Array>,
  ): Promise<Float32Array> {
    const { batch: B, seq: T } = batch;
    const D = this.cfg.hiddenSize;
    let dy = dh;
    for (let l = this.cfg.numLayers - 1; l >= 0; l--) {
      const feeds = { ...common, [layerIo.x]: f32(xs[l], [B, T, D]), [layerIo.dy]: f32(dy, [B, T, D]) };
      const names = this.layerParams(l, feeds);
      const session = await this.layerSession(l, B, T, true);
      const out = await session.run(feeds);
      for (const name of session.outputNames) {
        if (!name.startsWith('grad.')) continue;
        accumulate(grads, names.get(name.slice('grad.'.length))!, out[name].data as Float32Array);
      }
      dy = out[layerIo.dx].data as Float32Array;
      xs[l + 1] = new Float32Array(0); // no longer needed
    }
    return dy;
  }

  /** The embedding's gradient: scatter-add of the first layer's input gradient over token ids. */
  private embeddingGrad(batch: TokenBatch, dx: Float32Array, grads: Map<string, Float32Array>): void {
    const D = this.cfg.hiddenSize;
    const dEmbed = grads.get(weightName.embed) ?? new Float32Array(this.cfg.vocabSize * D);
    for (let i = 0; i < batch.batch * batch.seq; i++) {
      const id = batch.inputIds[i];
      for (let k = 0; k < D; k++) dEmbed[id * D + k] += dx[i * D + k];
    }
    grads.set(weightName.embed, dEmbed);
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}

/** Rows [start, start + n) of a row-major buffer `width` wide, zero-padded to `chunk` rows (a view when none is needed). */
function chunkOf<A extends Float32Array | BigInt64Array>(
  src: A,
  start: number,
  n: number,
  chunk: number,
  width: number,
  make: new (length: number) => A,
): A {
  const rows = src.subarray(start * width, (start + n) * width) as A;
  if (n === chunk) return rows;
  const out = new make(chunk * width);
  out.set(rows as never);
  return out;
}

function accumulate(grads: Map<string, Float32Array>, name: string, g: Float32Array): void {
  const prev = grads.get(name);
  if (!prev) grads.set(name, Float32Array.from(g));
  else for (let i = 0; i < g.length; i++) prev[i] += g[i];
}

/**
 * transformers' causal-LM convention: position t predicts labels[t+1]; IGNORE targets (and the last position)
 * carry no loss. Returns per-position target ids and weights (`scale` for a counted target, else 0).
 */
export function shiftedTargets(batch: TokenBatch, scale: number): { labels: BigInt64Array; weights: Float32Array; targets: number } {
  const { batch: B, seq: T } = batch;
  const labels = new BigInt64Array(B * T);
  const weights = new Float32Array(B * T);
  let targets = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const y = batch.labels[b * T + t + 1];
      if (y === IGNORE || t + 1 >= batch.lengths[b]) continue;
      labels[b * T + t] = BigInt(y);
      weights[b * T + t] = scale;
      targets++;
    }
  }
  return { labels, weights, targets };
}

/** Target tokens of a batch (for normalising the loss over accumulated micro-batches, as transformers does). */
export function countTargets(batch: TokenBatch): number {
  return shiftedTargets(batch, 1).targets;
}
