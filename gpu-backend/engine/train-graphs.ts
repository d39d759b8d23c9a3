/**
 * Training graphs: one decoder layer, and the head with its loss, each with weights as inputs and a static
 * shape (batch, seq). The forward graph is `decoderLayer` from llama.ts; the backward graph is the same forward
 * (recomputed: only the layer's input is kept between passes, which bounds activation memory to one layer)
 * followed by the reverse pass that `autodiff.ts` derives from the tape.
 *
 * Layer graph I/O — inputs: x [B,T,D], rope_cos/rope_sin [B,T,1,hd], attn_mask [B,1,1,T,T], the layer's
 * weights by their HF local names (e.g. `self_attn.q_proj.weight`), and `lora_A.<proj>` [r,in] /
 * `lora_B.<proj>` [out,r] for each trained projection. Forward output: y. Backward adds input dy and outputs
 * dx, `grad.lora_A.<proj>`, `grad.lora_B.<proj>` and, when training all weights, `grad.<weight name>`.
 */
import { layerModule, PROJECTIONS, projectionShape, type ModelConfig, type Projection } from '../../contracts/formats/hf-config.ts';
import { backward } from './autodiff.ts';
import { Graph, type Value } from './graph.ts';
import { decoderLayer, hasBias, head, type LayerWeights, type LoraSlot } from './llama.ts';
import { reshape, weightedCrossEntropy } from './ops.ts';

export interface LoraSpec {
  rank: number;
  scale: number;
}

export interface LayerGraphSpec {
  batch: number;
  seq: number;
  /** Trained LoRA projections of this layer with their rank and scale. */
  lora: Partial<Record<Projection, LoraSpec>>;
  /** Also differentiate the layer's own weights (full-parameter training). */
  trainWeights: boolean;
}

export const layerIo = {
  x: 'x',
  y: 'y',
  dy: 'dy',
  dx: 'dx',
  cos: 'rope_cos',
  sin: 'rope_sin',
  mask: 'attn_mask',
  loraA: (p: Projection) => `lora_A.${p}`,
  loraB: (p: Projection) => `lora_B.${p}`,
  grad: (input: string) => `grad.${input}`,
  inputNorm: 'input_layernorm.weight',
  postNorm: 'post_attention_layernorm.weight',
  proj: (p: Projection) => `${layerModule(p)}.weight`,
  bias: (p: Projection) => `${layerModule(p)}.bias`,
};

/** A stable key for caching sessions: graphs with equal keys are identical. */
export function layerGraphKey(spec: LayerGraphSpec, withBackward: boolean): string {
  const lora = PROJECTIONS.filter((p) => spec.lora[p]).map((p) => `${p}:${spec.lora[p]!.rank}:${spec.lora[p]!.scale}`);
  return `layer|${spec.batch}x${spec.seq}|${lora.join(',')}|${spec.trainWeights ? 'full' : 'lora'}|${withBackward ? 'bwd' : 'fwd'}`;
}

export function buildLayerGraph(cfg: ModelConfig, spec: LayerGraphSpec, withBackward: boolean): Graph {
  const g = new Graph(withBackward ? 'layer-backward' : 'layer-forward');
  const { batch: B, seq: T } = spec;
  const D = cfg.hiddenSize;
  const hd = cfg.headDim;
  const x = g.input(layerIo.x, 'float32', [B, T, D]);
  const cos = g.input(layerIo.cos, 'float32', [B, T, 1, hd]);
  const sin = g.input(layerIo.sin, 'float32', [B, T, 1, hd]);
  const mask = g.input(layerIo.mask, 'float32', [B, 1, 1, T, T]);
  const w: LayerWeights<Value> = {
    inputNorm: g.input(layerIo.inputNorm, 'float32', [D]),
    postNorm: g.input(layerIo.postNorm, 'float32', [D]),
    proj: {} as Record<Projection, Value>,
    bias: {},
  };
  const lora: Partial<Record<Projection, LoraSlot>> = {};
  for (const p of PROJECTIONS) {
    const { in: fanIn, out } = projectionShape(cfg, p);
    w.proj[p] = g.input(layerIo.proj(p), 'float32', [out, fanIn]);
    if (hasBias(cfg, p)) w.bias[p] = g.input(layerIo.bias(p), 'float32', [out]);
    const l = spec.lora[p];
    if (l) {
      lora[p] = {
        a: g.input(layerIo.loraA(p), 'float32', [l.rank, fanIn]),
        b: g.input(layerIo.loraB(p), 'float32', [out, l.rank]),
        scale: l.scale,
      };
    }
  }
  const { y } = g.scope('layer', () => decoderLayer(g, cfg, w, { x, cos, sin, mask, lora: (p) => lora[p] }));
  if (!withBackward) {
    g.output(y, layerIo.y);
    return g;
  }
  const dy = g.input(layerIo.dy, 'float32', [B, T, D]);
  const loraParams = Object.values(lora).flatMap((s) => [s!.a, s!.b]);
  const weightParams = spec.trainWeights ? [w.inputNorm, w.postNorm, ...Object.values(w.proj), ...Object.values(w.bias)] : [];
  const grads = backward(g, y, [x, ...loraParams, ...weightParams], dy);
  g.output(grads.get(x.name)!, layerIo.dx);
  for (const v of [...loraParams, ...weightParams]) g.output(grads.get(v.name)!, layerIo.grad(v.name));
  return g;
}

export const headIo = {
  h: 'h',
  norm: 'norm.weight',
  lmHead: 'lm_head.weight',
  labels: 'labels',
  weights: 'loss_weights',
  loss: 'loss',
  dh: 'dh',
  grad: (input: string) => `grad.${input}`,
};

/**
 * The head on `rows` hidden states [rows, D]: final norm, LM head, weighted cross-entropy against next-token
 * labels [rows] with per-row weights [rows]. With backward: outputs dh (and norm / lm_head gradients if full).
 */
export function buildHeadGraph(cfg: ModelConfig, rows: number, trainWeights: boolean): Graph {
  const g = new Graph('head');
  const D = cfg.hiddenSize;
  const h = g.input(headIo.h, 'float32', [rows, D]);
  const norm = g.input(headIo.norm, 'float32', [D]);
  const lmHead = g.input(headIo.lmHead, 'float32', [cfg.vocabSize, D]);
  const labels = g.input(headIo.labels, 'int64', [rows]);
  const weights = g.input(headIo.weights, 'float32', [rows]);
  const logits = g.scope('model', () => head(g, cfg, h, norm, lmHead));
  const loss = g.scope('loss', () => weightedCrossEntropy(g, reshape(g, logits, [rows, cfg.vocabSize]), labels, weights));
  g.output(loss, headIo.loss);
  const wrt = trainWeights ? [h, norm, lmHead] : [h];
  const grads = backward(g, loss, wrt, g.scalar(1));
  g.output(grads.get(h.name)!, headIo.dh);
  if (trainWeights) {
    g.output(grads.get(norm.name)!, headIo.grad(headIo.norm));
    g.output(grads.get(lmHead.name)!, headIo.grad(headIo.lmHead));
  }
  return g;
}
