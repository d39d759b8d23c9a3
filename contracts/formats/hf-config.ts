/**
 * Hugging Face `config.json` for the decoder families the engine runs: Llama (1, 2, 3, 3.1+), Mistral and Qwen2.
 * They share one architecture (pre-norm RMSNorm, RoPE, GQA attention, SiLU-gated MLP); the differences are
 * fields of `ModelConfig`. Pure module: the edge uses it to check a base model's config too.
 */
import { z } from 'zod';
import { describeIssues } from '../api/zod-issues.ts';
import { invalid, unsupported } from './errors.ts';

export type Family = 'llama' | 'mistral' | 'qwen2';

export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface ModelConfig {
  family: Family;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** Bias on q, k, v projections (Qwen2 always; Llama when `attention_bias`). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama's `attention_bias` covers it; Qwen2 never has one). */
  oBias: boolean;
  mlpBias: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** Mistral/Qwen2 sliding-window attention: contexts are limited to this many tokens (null: none). */
  slidingWindow: number | null;
}

const FAMILIES: Record<string, Family> = {
  llama: 'llama',
  LlamaForCausalLM: 'llama',
  mistral: 'mistral',
  MistralForCausalLM: 'mistral',
  qwen2: 'qwen2',
  Qwen2ForCausalLM: 'qwen2',
};

const positiveInt = z.number().int().positive();

/**
 * The most decoder layers a config may declare. The largest open models have 126; every adapter check walks
 * every layer's modules, so a config claiming millions would cost seconds of CPU per check.
 */
export const MAX_LAYERS = 1024;
const tokenIds = z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative())]).nullish();

const RopeParams = z.looseObject({
  rope_type: z.string().optional(),
  type: z.string().optional(),
  rope_theta: z.number().positive().optional(),
  factor: z.number().positive().optional(),
  low_freq_factor: z.number().positive().optional(),
  high_freq_factor: z.number().positive().optional(),
  original_max_position_embeddings: positiveInt.optional(),
});

const RawConfig = z.looseObject({
  model_type: z.string().optional(),
  architectures: z.array(z.string()).optional(),
  vocab_size: positiveInt,
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.nullish(),
  head_dim: positiveInt.nullish(),
  hidden_act: z.string().optional(),
  rms_norm_eps: z.number().positive().optional(),
  rope_theta: z.number().positive().optional(),
  rope_scaling: RopeParams.nullish(),
  rope_parameters: RopeParams.nullish(),
  max_position_embeddings: positiveInt.optional(),
  tie_word_embeddings: z.boolean().optional(),
  attention_bias: z.boolean().optional(),
  mlp_bias: z.boolean().optional(),
  bos_token_id: tokenIds,
  eos_token_id: tokenIds,
  sliding_window: z.number().int().positive().nullish(),
  use_sliding_window: z.boolean().optional(),
  pretraining_tp: z.number().int().optional(),
});

type RawConfig = z.infer<typeof RawConfig>;

/** Reads config.json in small steps, each refusing what the engine cannot run with a message that says why. */
export function parseModelConfig(json: unknown): ModelConfig {
  const c = readRawConfig(json);
  const family = familyOf(c);
  checkSupported(c);
  if (c.num_hidden_layers > MAX_LAYERS)
    invalid(
      'bad_model_config',
      `config.json: num_hidden_layers is ${c.num_hidden_layers}; rankgate serves models of at most ${MAX_LAYERS} layers.`,
      'num_hidden_layers',
    );
  const { numKvHeads, headDim } = attentionShape(c);
  const { ropeTheta, ropeScaling } = ropeOf(c);
  const eos = c.eos_token_id;
  return {
    family,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKvHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta,
    ropeScaling,
    maxPositionEmbeddings: c.max_position_embeddings ?? 2048,
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    qkvBias: family === 'qwen2' ? true : (c.attention_bias ?? false),
    oBias: family === 'qwen2' ? false : (c.attention_bias ?? false),
    mlpBias: c.mlp_bias ?? false,
    bosTokenId: typeof c.bos_token_id === 'number' ? c.bos_token_id : (c.bos_token_id?.[0] ?? null),
    eosTokenIds: eos == null ? [] : Array.isArray(eos) ? eos : [eos],
    slidingWindow: slidingWindowOf(c, family),
  };
}

function readRawConfig(json: unknown): RawConfig {
  const parsed = RawConfig.safeParse(json);
  if (!parsed.success) {
    const { message, param } = describeIssues(parsed.error, 'config.json');
    invalid('bad_model_config', message, param ?? undefined);
  }
  return parsed.data;
}

function familyOf(c: RawConfig): Family {
  const key = c.model_type ?? c.architectures?.[0] ?? '';
  const family = FAMILIES[key] ?? (c.architectures ?? []).map((a) => FAMILIES[a]).find(Boolean);
  if (!family) {
    unsupported(
      'unsupported_architecture',
      `config.json: model_type ${JSON.stringify(c.model_type)} / architectures ${JSON.stringify(c.architectures)} is not supported; rankgate runs Llama, Mistral and Qwen2 family decoders.`,
      'model_type',
    );
  }
  return family;
}

function checkSupported(c: RawConfig): void {
  if (c.hidden_act !== undefined && c.hidden_act !== 'silu') {
    unsupported(
      'unsupported_activation',
      `config.json: hidden_act "${c.hidden_act}" is not supported; these families use "silu".`,
      'hidden_act',
    );
  }
  if (c.pretraining_tp !== undefined && c.pretraining_tp !== 1) {
    unsupported('unsupported_config', 'config.json: pretraining_tp other than 1 is not supported.', 'pretraining_tp');
  }
}

function attentionShape(c: RawConfig): { numKvHeads: number; headDim: number } {
  const numKvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % numKvHeads !== 0) {
    invalid(
      'bad_model_config',
      `config.json: num_attention_heads (${c.num_attention_heads}) must be a multiple of num_key_value_heads (${numKvHeads}).`,
      'num_key_value_heads',
    );
  }
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    invalid(
      'bad_model_config',
      `config.json: head_dim ${headDim} must be an even integer (hidden_size / num_attention_heads when head_dim is absent).`,
      'head_dim',
    );
  }
  return { numKvHeads, headDim };
}

/** transformers 5 writes `rope_parameters` (with rope_theta inside); 4.x writes `rope_theta` and `rope_scaling`. */
function ropeOf(c: RawConfig): { ropeTheta: number; ropeScaling: Llama3RopeScaling | null } {
  const rope = c.rope_parameters ?? c.rope_scaling ?? null;
  const ropeTheta = c.rope_parameters?.rope_theta ?? c.rope_theta ?? 10000;
  const ropeType = rope?.rope_type ?? rope?.type ?? 'default';
  if (ropeType === 'default') return { ropeTheta, ropeScaling: null };
  if (ropeType !== 'llama3') {
    unsupported(
      'unsupported_rope_scaling',
      `config.json: rope scaling type "${ropeType}" is not supported; rankgate supports none ("default") and "llama3".`,
      'rope_scaling',
    );
  }
  const missing = ['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings'].filter(
    (k) => rope?.[k as keyof typeof rope] === undefined,
  );
  if (missing.length) invalid('bad_model_config', `config.json: llama3 rope scaling needs ${missing.join(', ')}.`, 'rope_scaling');
  return {
    ropeTheta,
    ropeScaling: {
      type: 'llama3',
      factor: rope!.factor!,
      lowFreqFactor: rope!.low_freq_factor!,
      highFreqFactor: rope!.high_freq_factor!,
      originalMaxPositionEmbeddings: rope!.original_max_position_embeddings!,
    },
  };
}

/** Qwen2 writes a sliding_window it does not use unless use_sliding_window is set. */
function slidingWindowOf(c: RawConfig, family: Family): number | null {
  if (family === 'qwen2') return c.use_sliding_window ? (c.sliding_window ?? null) : null;
  return c.sliding_window ?? null;
}

/** RoPE inverse frequencies, including Llama 3.1's frequency-dependent rescaling, as transformers computes them. */
export function ropeInverseFrequencies(cfg: ModelConfig): Float32Array {
  const half = cfg.headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.fround(cfg.ropeTheta ** Math.fround((2 * i) / cfg.headDim));
  const s = cfg.ropeScaling;
  if (!s) return inv;
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowWavelen) inv[i] = inv[i] / s.factor;
    else if (wavelen >= highWavelen) {
      const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
    }
  }
  return inv;
}

/** The linear projections of one decoder layer, by PEFT module name, with their [out, in] shapes. */
export const PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type Projection = (typeof PROJECTIONS)[number];

export function projectionShape(cfg: ModelConfig, p: Projection): { out: number; in: number } {
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  switch (p) {
    case 'q_proj':
      return { out: q, in: cfg.hiddenSize };
    case 'k_proj':
    case 'v_proj':
      return { out: kv, in: cfg.hiddenSize };
    case 'o_proj':
      return { out: cfg.hiddenSize, in: q };
    case 'gate_proj':
    case 'up_proj':
      return { out: cfg.intermediateSize, in: cfg.hiddenSize };
    case 'down_proj':
      return { out: cfg.hiddenSize, in: cfg.intermediateSize };
  }
}

/** The projection's name inside a decoder layer, e.g. `self_attn.q_proj` or `mlp.down_proj`. */
export function layerModule(p: Projection): string {
  return `${p === 'gate_proj' || p === 'up_proj' || p === 'down_proj' ? 'mlp' : 'self_attn'}.${p}`;
}

/** Full module path as PEFT and transformers name it, e.g. `model.layers.3.self_attn.q_proj`. */
export function modulePath(layer: number, p: Projection): string {
  return `model.layers.${layer}.${layerModule(p)}`;
}

export function maxContext(cfg: ModelConfig): number {
  return cfg.slidingWindow ? Math.min(cfg.slidingWindow, cfg.maxPositionEmbeddings) : cfg.maxPositionEmbeddings;
}
