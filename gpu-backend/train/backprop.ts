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
import { hasBias, weightName } from '../engine/llama.ts';
import { RopeTables } from '../engine/rope.ts';
import { createSession, f32, i64, ort, type RuntimeOptions } from '../engine/runtime.ts';
import { buildHeadGraph, buildLayerGraph, headIo, layerGraphKey, layerIo, type LayerGraphSpec } from '../engine/train-graphs.ts';

/** A batch of token rows, right-padded: `labels` uses -100 for positions that carry no loss, as transformers does. */
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
  /** Target tokens (labels ≠ -100 after the shift) in this batch. */
  targets: number;
  grads: Map<string, Float32Array>;
}

const MASKED = -1e30;

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
    if (trainable.kind === 'lora') for (const t of trainable.targets) this.layerLora[t.layer][t.projection] = { rank: t.rank, scale: t.scale };
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
    const cfg = this.cfg;
    const { batch: B, seq: T } = batch;
    const D = cfg.hiddenSize;
    const rows = B * T;
    const { cos, sin } = this.rope.fill(new Array(B).fill(0), T);
    const common: Record<string, ort.Tensor> = {
      [layerIo.cos]: f32(cos, [B, T, 1, cfg.headDim]),
      [layerIo.sin]: f32(sin, [B, T, 1, cfg.headDim]),
      [layerIo.mask]: f32(causalMask(batch.lengths, T), [B, 1, 1, T, T]),
    };

    // Forward, keeping each layer's input.
    const embed = this.weights.get(weightName.embed)!;
    const x0 = new Float32Array(rows * D);
    for (let i = 0; i < rows; i++) x0.set(embed.subarray(batch.inputIds[i] * D, (batch.inputIds[i] + 1) * D), i * D);
    const xs: Float32Array[] = [x0];
    for (let l = 0; l < cfg.numLayers; l++) {
      const feeds = { ...common, [layerIo.x]: f32(xs[l], [B, T, D]) };
      this.layerParams(l, feeds);
      const out = await (await this.layerSession(l, B, T, false)).run(feeds);
      xs.push(out[layerIo.y].data as Float32Array);
    }

    // Head: loss and dh, chunk by chunk.
    const { labels, weights, targets } = shiftedTargets(batch, lossScale);
    const grads = new Map<string, Float32Array>();
    const full = this.trainable.kind === 'full';
    const chunk = Math.min(this.opts.headRows ?? 256, rows);
    const headSession = await this.session(`head|${chunk}|${full}`, () => buildHeadGraph(cfg, chunk, full).toOnnx());
    const lmHeadName = cfg.tieWordEmbeddings ? weightName.embed : weightName.lmHead;
    const dh = new Float32Array(rows * D);
    let loss = 0;
    const hLast = xs[cfg.numLayers];
    for (let start = 0; start < rows; start += chunk) {
      const n = Math.min(chunk, rows - start);
      const pad = <T extends Float32Array | BigInt64Array>(src: T, width: number, make: (len: number) => T): T => {
        if (n === chunk) return src.subarray(start * width, (start + n) * width) as T;
        const out = make(chunk * width);
        out.set(src.subarray(start * width, (start + n) * width) as never);
        return out;
      };
      const out = await headSession.run({
        [headIo.h]: f32(pad(hLast, D, (k) => new Float32Array(k)), [chunk, D]),
        [headIo.norm]: f32(this.weights.get(weightName.norm)!, [D]),
        [headIo.lmHead]: f32(this.weights.get(lmHeadName)!, [cfg.vocabSize, D]),
        [headIo.labels]: i64(pad(labels, 1, (k) => new BigInt64Array(k)), [chunk]),
        [headIo.weights]: f32(pad(weights, 1, (k) => new Float32Array(k)), [chunk]),
      });
      loss += (out[headIo.loss].data as Float32Array)[0];
      dh.set((out[headIo.dh].data as Float32Array).subarray(0, n * D), start * D);
      if (full && withGrads) {
        accumulate(grads, weightName.norm, out[headIo.grad(headIo.norm)].data as Float32Array);
        accumulate(grads, lmHeadName, out[headIo.grad(headIo.lmHead)].data as Float32Array);
      }
    }
    if (!withGrads) return { loss, targets, grads };

    // Backward through the layers, newest first.
    let dy: Float32Array = dh;
    for (let l = cfg.numLayers - 1; l >= 0; l--) {
      const feeds = { ...common, [layerIo.x]: f32(xs[l], [B, T, D]), [layerIo.dy]: f32(dy, [B, T, D]) };
      const names = this.layerParams(l, feeds);
      const session = await this.layerSession(l, B, T, true);
      const out = await session.run(feeds);
      for (const name of session.outputNames) {
        if (!name.startsWith('grad.')) continue;
        const global = names.get(name.slice('grad.'.length))!;
        accumulate(grads, global, out[name].data as Float32Array);
      }
      dy = out[layerIo.dx].data as Float32Array;
      xs[l + 1] = new Float32Array(0); // no longer needed
    }
    if (full) {
      // The embedding's gradient: scatter-add of the first layer's input gradient over token ids.
      const dEmbed = grads.get(weightName.embed) ?? new Float32Array(cfg.vocabSize * D);
      for (let i = 0; i < rows; i++) {
        const id = batch.inputIds[i];
        for (let k = 0; k < D; k++) dEmbed[id * D + k] += dy[i * D + k];
      }
      grads.set(weightName.embed, dEmbed);
    }
    return { loss, targets, grads };
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}

function accumulate(grads: Map<string, Float32Array>, name: string, g: Float32Array): void {
  const prev = grads.get(name);
  if (!prev) grads.set(name, Float32Array.from(g));
  else for (let i = 0; i < g.length; i++) prev[i] += g[i];
}

/** [B, 1, 1, T, T] additive: causal, keys past a row's length masked (padded queries still see themselves). */
export function causalMask(lengths: number[], T: number): Float32Array {
  const m = new Float32Array(lengths.length * T * T).fill(MASKED);
  lengths.forEach((len, b) => {
    for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) if (k < len || k === q) m[(b * T + q) * T + k] = 0;
  });
  return m;
}

/**
 * transformers' causal-LM convention: position t predicts labels[t+1]; -100 targets (and the last position)
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
      if (y === -100 || t + 1 >= batch.lengths[b]) continue;
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
