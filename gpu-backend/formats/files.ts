/**
 * Reading Hugging Face model folders and PEFT adapter folders from disk (Node only).
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid } from '../../contracts/formats/errors.ts';
import { parseModelConfig, type ModelConfig } from '../../contracts/formats/hf-config.ts';
import { loadLoraAdapter, type LoraAdapter } from '../../contracts/formats/adapter.ts';
import { headerLength, parseSafetensorsHeader, tensorFromBytes, type Tensor } from '../../contracts/formats/safetensors.ts';
import { dequantizedTensors } from '../lowrank/quantize-file.ts';
import { type Checkpoint, openCheckpoint, readAll } from './checkpoint.ts';

export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    invalid('missing_file', `${what} not found at ${path}.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    invalid('bad_json', `${what} at ${path} is not valid JSON.`);
  }
}

/** Reads one safetensors file tensor by tensor, so peak memory is the tensors, not the file twice. */
export async function readSafetensorsFile(path: string): Promise<Map<string, Tensor>> {
  return (await readSafetensorsWithMetadata(path)).tensors;
}

/** `readSafetensorsFile`, plus the header's `__metadata__` strings. */
async function readSafetensorsWithMetadata(path: string): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, string> }> {
  const fh = await open(path, 'r').catch(() => invalid('missing_file', `safetensors file not found at ${path}.`));
  try {
    const { size } = await fh.stat();
    const prefix = new Uint8Array(Math.min(8, size));
    await fh.read(prefix, 0, prefix.byteLength, 0);
    const len = headerLength(prefix, size);
    const head = new Uint8Array(8 + len);
    await fh.read(head, 0, head.byteLength, 0);
    const header = parseSafetensorsHeader(head, size);
    const tensors = new Map<string, Tensor>();
    for (const [name, info] of header.tensors) {
      const raw = new Uint8Array(info.end - info.begin);
      if (raw.byteLength > 0) await fh.read(raw, 0, raw.byteLength, header.dataStart + info.begin);
      tensors.set(name, tensorFromBytes(info, raw));
    }
    return { tensors, metadata: header.metadata };
  } finally {
    await fh.close();
  }
}

/** All weights of a checkpoint folder: `model.safetensors`, or the shards named by `model.safetensors.index.json`. */
export async function readCheckpointWeights(dir: string): Promise<Map<string, Tensor>> {
  return readAll(await openCheckpoint(dir));
}

export interface ModelFolder {
  dir: string;
  config: ModelConfig;
  rawConfig: Record<string, unknown>;
  weights: Map<string, Tensor>;
}

/** A model folder whose weights stay on disk until read one at a time (checkpoint.ts): what serving loads. */
export interface CheckpointFolder {
  dir: string;
  config: ModelConfig;
  rawConfig: Record<string, unknown>;
  weights: Checkpoint;
}

export async function openModelFolder(dir: string): Promise<CheckpointFolder> {
  const rawConfig = (await readJsonFile(join(dir, 'config.json'), 'config.json')) as Record<string, unknown>;
  return { dir, config: parseModelConfig(rawConfig), rawConfig, weights: await openCheckpoint(dir) };
}

export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const rawConfig = (await readJsonFile(join(dir, 'config.json'), 'config.json')) as Record<string, unknown>;
  const config = parseModelConfig(rawConfig);
  const weights = await readCheckpointWeights(dir);
  return { dir, config, rawConfig, weights };
}

/**
 * A PEFT adapter folder, or one whose adapter_model.safetensors holds int8/int4 factors (`quant_method` in its
 * metadata; lowrank/quantize-file.ts). Quantized factors are dequantized to float32 here, once per load: the LoRA
 * branch is r·(in + out) weights per module against the base's in·out, so serving it in float32 costs next to
 * nothing, keeps one graph and one batch for every adapter, and the quantization still saves what it is for,
 * storage and transfer.
 */
export async function readAdapterFolder(dir: string, model: ModelConfig): Promise<LoraAdapter> {
  const configJson = await readJsonFile(join(dir, 'adapter_config.json'), 'adapter_config.json');
  const { tensors, metadata } = await readSafetensorsWithMetadata(join(dir, 'adapter_model.safetensors'));
  return loadLoraAdapter(configJson, model, metadata.quant_method === undefined ? tensors : dequantizedTensors(tensors, metadata));
}
