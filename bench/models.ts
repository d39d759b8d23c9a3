/** Random-initialised models and adapters of real shapes, for benchmarks (no downloads). */
import type { LoraAdapter } from '../contracts/formats/adapter.ts';
import type { ModelFolder } from '../gpu-backend/formats/files.ts';
import { modulePath, PROJECTIONS, parseModelConfig, projectionShape, type ModelConfig } from '../contracts/formats/hf-config.ts';
import { parseLoraConfig } from '../contracts/formats/peft-config.ts';
import type { Tensor } from '../contracts/formats/safetensors.ts';
import { expectedWeightShapes } from '../gpu-backend/engine/weights.ts';
import { randomFloats } from './measure.ts';

/** SmolLM2-135M's config.json (HuggingFaceTB/SmolLM2-135M), the shape the benchmarks use. */
export const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  vocab_size: 49152,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  bos_token_id: 1,
  eos_token_id: 2,
};

/** Meta-Llama-3-8B's config.json shapes (hidden 4096, intermediate 14336, 32 layers, 8 KV heads), for the merge timings. */
export const LLAMA3_8B = {
  ...SMOLLM2_135M,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  vocab_size: 128256,
  rope_theta: 500000,
  tie_word_embeddings: false,
};

export function randomModel(rawConfig: Record<string, unknown>, seed = 1): ModelFolder {
  const config = parseModelConfig(rawConfig);
  const weights = new Map<string, Tensor>();
  let s = seed;
  for (const [name, shape] of expectedWeightShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = name.endsWith('norm.weight') ? new Float32Array(n).fill(1) : randomFloats(n, 0.04, s++);
    weights.set(name, { dtype: 'F32', shape, data });
  }
  return { dir: '(random)', config, rawConfig, weights };
}

/** A random LoRA adapter of rank r on the given projections of every layer (scale alpha/r with alpha = 2r). */
export function randomAdapter(cfg: ModelConfig, r: number, seed: number, projections = [...PROJECTIONS]): LoraAdapter {
  const config = parseLoraConfig({ r, lora_alpha: 2 * r, target_modules: projections });
  const modules = [];
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    for (const p of projections) {
      const { in: fanIn, out } = projectionShape(cfg, p);
      modules.push({
        layer,
        projection: p,
        path: modulePath(layer, p),
        rank: r,
        scale: 2,
        in: fanIn,
        out,
        a: randomFloats(r * fanIn, 0.05, seed * 1000 + layer * 10 + modules.length),
        b: randomFloats(out * r, 0.01, seed * 7919 + layer * 13 + modules.length),
      });
    }
  }
  return { config, modules };
}

/** Parameters of one decoder layer's linear projections (the FLOP-carrying weights). */
export function layerMatmulParams(cfg: ModelConfig): number {
  return PROJECTIONS.reduce((sum, p) => {
    const { in: i, out: o } = projectionShape(cfg, p);
    return sum + i * o;
  }, 0);
}
