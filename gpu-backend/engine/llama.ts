/**
 * The Llama-family decoder (Llama, Mistral, Qwen2) written with the builder's ops, top to bottom, after
 * transformers' `modeling_llama.py`. Two callers assemble it:
 *  - `inference-graph.ts`: the whole model with weights as initializers, a static KV cache and per-row LoRA;
 *  - `train-graphs.ts`: one decoder layer (and the head) with weights as inputs, differentiated by `autodiff.ts`.
 */
import { modulePath, type ModelConfig, type Projection } from '../../contracts/formats/hf-config.ts';
import { groupedAttention } from './attention.ts';
import type { Graph, Value } from './graph.ts';
import {
  add,
  type LinearWeight,
  linearAny,
  matmul,
  mul,
  reshape,
  rmsNorm,
  rmsNormServing,
  silu,
  splitEqual,
  splitLengths,
  transpose,
  transposeLast2,
} from './ops.ts';

/**
 * A LoRA delta on one projection: A [.., r, in], B [.., out, r] as PEFT stores them, or, when `transposed`,
 * Aᵀ [.., in, r] and Bᵀ [.., r, out] (leading axis = batch row when per-row).
 */
export interface LoraSlot {
  a: Value;
  b: Value;
  transposed?: boolean;
  /** alpha / r (or alpha / √r); omitted when already folded into B. */
  scale?: number;
}

/** W: float32 [out, in] values (training), or either those or MatMulNBits weights (serving, int8/int4). */
export interface LayerWeights<W extends LinearWeight = LinearWeight> {
  inputNorm: Value;
  postNorm: Value;
  proj: Record<Projection, W>;
  bias: Partial<Record<Projection, Value>>;
  /**
   * Serving only: the weights of projections that read the same input, stacked into one [Σ out, in] (and their
   * biases), so a group is one MatMul and a Split instead of one MatMul each (fewer nodes per decode step, larger
   * GEMMs in prefill). Training leaves it out: its weights are inputs, and stacking them would copy them each step.
   */
  fused?: Partial<Record<FusedGroup, FusedWeight<W>>>;
}

/** Projections that read the same input: q/k/v the normed hidden state, gate/up the normed residual. */
export const FUSED_GROUPS = { qkv: ['q_proj', 'k_proj', 'v_proj'], gateUp: ['gate_proj', 'up_proj'] } as const satisfies Record<
  string,
  readonly Projection[]
>;
export type FusedGroup = keyof typeof FUSED_GROUPS;

/**
 * How serving groups the projections for their low-rank deltas: each unit is one x·A, one per-row C and one ·B per
 * member, over its members' factors side by side (lora-rows.ts), 4 units a layer instead of 7 projections.
 */
export type ProjectionUnit = FusedGroup | 'o_proj' | 'down_proj';
export const PROJECTION_UNITS: readonly { unit: ProjectionUnit; members: readonly Projection[] }[] = [
  { unit: 'qkv', members: FUSED_GROUPS.qkv },
  { unit: 'o_proj', members: ['o_proj'] },
  { unit: 'gateUp', members: FUSED_GROUPS.gateUp },
  { unit: 'down_proj', members: ['down_proj'] },
];

export interface FusedWeight<W extends LinearWeight = LinearWeight> {
  w: W;
  bias?: Value;
  /** Each member's output width, in the group's order. */
  sizes: number[];
}

export interface LayerInputs {
  /** Hidden states [B, T, D]. */
  x: Value;
  /** RoPE tables [B, T, 1, head_dim]. */
  cos: Value;
  sin: Value;
  /** Additive attention mask [B, 1, 1, T, P+T] (0 or -inf): cache validity, causality and padding. */
  mask: Value;
  /** Static KV cache of earlier positions, [B, kv_heads, P, head_dim] each; absent in training. */
  past?: { key: Value; value: Value };
  lora: (p: Projection) => LoraSlot | undefined;
  /** Serving: per-row low-rank deltas per unit of PROJECTION_UNITS instead of `lora` (lora-rows.ts). */
  loraUnit?: (unit: ProjectionUnit) => UnitLora | undefined;
  /** Serving: each RMSNorm one node (`rmsNormServing`, no gradient rule) instead of six. */
  oneNodeNorms?: boolean;
}

/**
 * A unit's per-row delta x·A·C·B: A [rows, in, n·R] the members' Aᵀ (or a shared basis' V) side by side, one x·A for
 * the unit; C [rows, n·R, n·R] block-diagonal (identity, or a shared-basis task's core); then split equally, each
 * member's B [rows, R, out] (scaled Bᵀ, or Uᵀ). Any leading axis may be 1, broadcast over the batch.
 */
export interface UnitLora {
  a: Value;
  c: Value;
  b: Value[];
}

/** `nn.Linear` plus its LoRA delta: x·Wᵀ + b + scale·(x·Aᵀ)·Bᵀ. */
function projection(g: Graph, name: 'o_proj' | 'down_proj', x: Value, w: LayerWeights, inp: ProjectionInputs): Value {
  return g.scope(name, () => {
    const base = linearAny(g, x, w.proj[name], w.bias[name]);
    return withUnitLora(g, name, x, [base], inp)?.[0] ?? withLora(g, name, x, base, inp);
  });
}

/** The projections of `group`: one MatMul over their stacked weights when the layer has them (serving), else one each. */
function projectionGroup(g: Graph, group: FusedGroup, x: Value, w: LayerWeights, inp: ProjectionInputs): Value[] {
  const names = FUSED_GROUPS[group];
  const fused = w.fused?.[group];
  return g.scope(group, () => {
    const ys = fused
      ? splitLengths(g, linearAny(g, x, fused.w, fused.bias), -1, fused.sizes)
      : names.map((name) => g.scope(name, () => linearAny(g, x, w.proj[name], w.bias[name])));
    return withUnitLora(g, group, x, ys, inp) ?? names.map((name, i) => g.scope(name, () => withLora(g, name, x, ys[i], inp)));
  });
}

type ProjectionInputs = Pick<LayerInputs, 'lora' | 'loraUnit'>;

/** y (the base projection of x) plus the projection's LoRA delta, when it has one. */
function withLora(g: Graph, name: Projection, x: Value, y: Value, inp: ProjectionInputs): Value {
  const lora = inp.lora(name);
  if (!lora) return y;
  return g.scope('lora', () => {
    let h = matmul(g, x, lora.transposed ? lora.a : transposeLast2(g, lora.a));
    if (lora.scale !== undefined && lora.scale !== 1) h = mul(g, h, g.scalar(lora.scale));
    return add(g, y, matmul(g, h, lora.transposed ? lora.b : transposeLast2(g, lora.b)));
  });
}

/** ys (the unit's base projections of x) plus their per-row deltas x·A·C·B through `loraUnit`; undefined without it. */
function withUnitLora(g: Graph, unit: ProjectionUnit, x: Value, ys: Value[], inp: ProjectionInputs): Value[] | undefined {
  const lora = inp.loraUnit?.(unit);
  if (!lora) return undefined;
  return g.scope('lora', () => {
    const h = matmul(g, matmul(g, x, lora.a), lora.c);
    const hs = ys.length > 1 ? splitEqual(g, h, -1, ys.length) : [h];
    return ys.map((y, i) => add(g, y, matmul(g, hs[i], lora.b[i])));
  });
}

/** rotate_half as a fixed [hd, hd] matrix, so RoPE is x·cos + (x·R)·sin with a plain MatMul and its plain rule. */
function rotateHalfMatrix(g: Graph, hd: number): Value {
  const r = new Array<number>(hd * hd).fill(0);
  const half = hd / 2;
  for (let j = 0; j < half; j++) {
    r[(j + half) * hd + j] = -1;
    r[j * hd + (j + half)] = 1;
  }
  return g.constant(r, [hd, hd]);
}

function rope(g: Graph, x: Value, cos: Value, sin: Value, hd: number): Value {
  return g.scope('rope', () => add(g, mul(g, x, cos), mul(g, matmul(g, x, rotateHalfMatrix(g, hd)), sin)));
}

export interface LayerOutputs {
  y: Value;
  /** This step's keys (after RoPE) and values, [B, kv_heads, T, head_dim], to append to the cache. */
  key: Value;
  value: Value;
}

export function decoderLayer(g: Graph, cfg: ModelConfig, w: LayerWeights, inp: LayerInputs): LayerOutputs {
  const { x } = inp;
  const [B, T] = x.shape;
  const hd = cfg.headDim;
  const kvH = cfg.numKvHeads;
  const norm = inp.oneNodeNorms ? rmsNormServing : rmsNorm;

  const attnOut = g.scope('attn', () => {
    const xn = g.scope('input_layernorm', () => norm(g, x, w.inputNorm, cfg.rmsNormEps));
    const [qOut, kOut, vOut] = projectionGroup(g, 'qkv', xn, w, inp);
    // [B, T, heads·hd] -> [B, T, heads, hd], RoPE, then heads to the front: [B, heads, T, hd].
    const heads = (y: Value, n: number, cos: Value, sin: Value) =>
      transpose(g, rope(g, reshape(g, y, [B, T, n, hd]), cos, sin, hd), [0, 2, 1, 3]);
    // The queries' RoPE tables carry the 1/√hd scale: [B, T, 1, hd] scaled once rather than the scores.
    const scale = g.scalar(1 / Math.sqrt(hd));
    const q = g.scope('q_rope', () => heads(qOut, cfg.numHeads, mul(g, inp.cos, scale), mul(g, inp.sin, scale)));
    const k = heads(kOut, kvH, inp.cos, inp.sin);
    const v = g.scope('v_proj', () => transpose(g, reshape(g, vOut, [B, T, kvH, hd]), [0, 2, 1, 3]));
    const merged = groupedAttention(g, cfg.numHeads, { q, k, v, mask: inp.mask, past: inp.past });
    return { out: projection(g, 'o_proj', merged, w, inp), key: k, value: v };
  });

  const h = add(g, x, attnOut.out);
  const y = g.scope('mlp', () => {
    const hn = g.scope('post_attention_layernorm', () => norm(g, h, w.postNorm, cfg.rmsNormEps));
    const [gate, up] = projectionGroup(g, 'gateUp', hn, w, inp);
    return add(g, h, projection(g, 'down_proj', mul(g, silu(g, gate), up), w, inp));
  });
  return { y, key: attnOut.key, value: attnOut.value };
}

/** Final RMSNorm and the LM head. */
export function head(g: Graph, cfg: ModelConfig, h: Value, norm: Value, lmHead: LinearWeight): Value {
  const hn = g.scope('norm', () => rmsNorm(g, h, norm, cfg.rmsNormEps));
  return g.scope('lm_head', () => linearAny(g, hn, lmHead));
}

export const weightName = {
  embed: 'model.embed_tokens.weight',
  norm: 'model.norm.weight',
  lmHead: 'lm_head.weight',
  inputNorm: (l: number) => `model.layers.${l}.input_layernorm.weight`,
  postNorm: (l: number) => `model.layers.${l}.post_attention_layernorm.weight`,
  proj: (l: number, p: Projection) => `${modulePath(l, p)}.weight`,
  bias: (l: number, p: Projection) => `${modulePath(l, p)}.bias`,
};

/** Which projections carry a bias in this family. */
export function hasBias(cfg: ModelConfig, p: Projection): boolean {
  if (p === 'q_proj' || p === 'k_proj' || p === 'v_proj') return cfg.qkvBias;
  if (p === 'o_proj') return cfg.oBias;
  return cfg.mlpBias;
}
