/**
 * A random checkpoint of a given shape, written the way users bring one (bf16 by default, optionally sharded
 * with an index): weights ~ U(-0.05, 0.05), norms 1. Generated tensor by tensor, so writing a 1B-shaped model
 * holds one tensor, not the model.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseModelConfig } from '../contracts/formats/hf-config.ts';
import { expectedWeightShapes } from '../gpu-backend/engine/weights.ts';
import { writeCheckpoint } from '../gpu-backend/formats/write-checkpoint.ts';

/** Llama-3.2-1B's shape (hidden 2048, 16 layers, 32 heads, 8 KV heads, vocab 128256, tied embeddings). */
export const LLAMA_1B_CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 128256,
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 64,
  hidden_act: 'silu',
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  tie_word_embeddings: true,
  attention_bias: false,
  mlp_bias: false,
  bos_token_id: 128000,
  eos_token_id: 128001,
  torch_dtype: 'bfloat16',
};

export async function writeRandomCheckpoint(
  dir: string,
  rawConfig: Record<string, unknown>,
  opts: { dtype?: 'BF16' | 'F32'; shards?: number; seed?: number } = {},
): Promise<void> {
  const dtype = opts.dtype ?? 'BF16';
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(rawConfig, null, 2));
  let state = (opts.seed ?? 1) >>> 0 || 1;
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const plans = [...expectedWeightShapes(parseModelConfig(rawConfig))].map(([name, shape]) => ({ name, dtype, shape }));
  await writeCheckpoint(
    dir,
    plans,
    (t) => {
      const n = t.shape.reduce((a, b) => a * b, 1);
      const isNorm = t.shape.length === 1;
      const out = dtype === 'BF16' ? new Uint16Array(n) : new Float32Array(n);
      for (let i = 0; i < n; i++) {
        // xorshift32: fast enough for a billion values.
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        f32[0] = isNorm ? 1 : ((state >>> 0) / 4294967296 - 0.5) * 0.1;
        out[i] = dtype === 'BF16' ? u32[0] >>> 16 : f32[0];
      }
      return out;
    },
    { shards: opts.shards },
  );
}
