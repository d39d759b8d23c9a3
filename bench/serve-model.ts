/**
 * The serve benchmark's large model, written to the bucket as a user would upload it: a SmolLM2-135M-shaped
 * checkpoint with random weights, a tokenizer that covers its 49,152-token vocabulary (the default model's
 * characters and chat template, then filler tokens, so any sampled id decodes), and PEFT adapters of PEFT's
 * default shape (r = 16 on q_proj and v_proj).
 */
import { DEFAULT_TARGET_MODULES } from '../contracts/api/hyperparameters.ts';
import type { ModelConfig } from '../contracts/formats/hf-config.ts';
import { encodeSafetensors } from '../contracts/formats/safetensors.ts';
import type { ObjectStore } from '../contracts/storage/object-store.ts';
import { tokenizerConfigJson, tokenizerJson } from '../gpu-backend/default-model/tokenizer-files.ts';
import { adapterFiles } from '../gpu-backend/lowrank/peft-adapter.ts';
import { randomAdapter, randomModel, SMOLLM2_135M } from './models.ts';

export const ADAPTER_RANK = 16;

/** The default tokenizer's vocabulary padded with `<x…>` tokens to `size` entries, so any sampled id decodes. */
export function paddedTokenizer(size: number): Record<string, unknown> {
  const json = tokenizerJson() as { model: { vocab: Record<string, number> } };
  const vocab = json.model.vocab;
  for (let id = Object.keys(vocab).length; id < size; id++) vocab[`<x${id}>`] = id;
  return json;
}

/** Puts the model's files under `prefix`; returns its config for the adapters. */
export async function putRandomModel(store: ObjectStore, prefix: string): Promise<ModelConfig> {
  const folder = randomModel(SMOLLM2_135M);
  await store.put(`${prefix}config.json`, JSON.stringify(SMOLLM2_135M));
  await store.put(`${prefix}model.safetensors`, encodeSafetensors(folder.weights, { format: 'pt' }));
  await store.put(`${prefix}tokenizer.json`, JSON.stringify(paddedTokenizer(SMOLLM2_135M.vocab_size)));
  await store.put(`${prefix}tokenizer_config.json`, JSON.stringify({ ...tokenizerConfigJson(), model_max_length: 8192 }));
  return folder.config;
}

/** Puts `count` distinct random adapters as PEFT folders under `<prefix><i>/`. */
export async function putRandomAdapters(store: ObjectStore, cfg: ModelConfig, prefix: string, count: number): Promise<string[]> {
  const prefixes: string[] = [];
  for (let i = 0; i < count; i++) {
    const files = adapterFiles(randomAdapter(cfg, ADAPTER_RANK, i + 1, [...DEFAULT_TARGET_MODULES]));
    const at = `${prefix}${i}/`;
    await store.put(`${at}adapter_config.json`, files.config);
    await store.put(`${at}adapter_model.safetensors`, files.weights);
    prefixes.push(at);
  }
  return prefixes;
}
