/**
 * `rankgate parity <dir>`: checks the engine against reference outputs of transformers + PEFT stored in a
 * fixture folder: `<dir>/base` (HF checkpoint), `<dir>/adapters/*` (PEFT folders), `<dir>/reference.safetensors`
 * and `<dir>/reference.json`. Every reference key is either checked or listed as unchecked, never passed silently.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoraAdapter } from '../formats/adapter.ts';
import { readAdapterFolder, readJsonFile, readModelFolder } from '../formats/files.ts';
import { decodeSafetensors, toFloat32, type Tensor } from '../formats/safetensors.ts';
import { Decoder } from '../engine/decoder.ts';
import { generate } from '../engine/generate.ts';
import { LoraRows } from '../engine/lora-rows.ts';

export const LOGITS_TOLERANCE = 1e-4;

export interface ParityReport {
  max_abs_diff: Record<string, number>;
  generate_match: Record<string, boolean>;
  unchecked: string[];
  ok: boolean;
}

export interface Fixture {
  decoder: Decoder;
  adapters: Map<string, LoraAdapter>;
  reference: Map<string, Tensor>;
  referenceJson: Record<string, unknown>;
  inputIds: number[][];
  eos: number[];
}

export async function loadFixture(dir: string): Promise<Fixture> {
  const folder = await readModelFolder(join(dir, 'base'));
  const decoder = await Decoder.fromFolder(folder);
  const adapters = new Map<string, LoraAdapter>();
  const names = await readdir(join(dir, 'adapters')).catch(() => [] as string[]);
  for (const name of names.sort()) adapters.set(name, await readAdapterFolder(join(dir, 'adapters', name), folder.config));
  const reference = decodeSafetensors(await readFile(join(dir, 'reference.safetensors'))).tensors;
  const referenceJson = (await readJsonFile(join(dir, 'reference.json'), 'reference.json')) as Record<string, unknown>;
  const ids = reference.get('input_ids');
  if (!ids) throw new Error(`${dir}/reference.safetensors has no input_ids`);
  const flat = Array.from(ids.data as BigInt64Array, Number);
  const [rows, seq] = ids.shape;
  const inputIds = Array.from({ length: rows }, (_, r) => flat.slice(r * seq, (r + 1) * seq));
  const generation = (await readJsonFile(join(dir, 'base', 'generation_config.json'), 'generation_config.json').catch(() => ({}))) as { eos_token_id?: number | number[] };
  const eos = generation.eos_token_id ?? folder.config.eosTokenIds;
  return { decoder, adapters, reference, referenceJson, inputIds, eos: Array.isArray(eos) ? eos : [eos] };
}

/** Full-sequence logits [rows, seq, vocab], each row with its own adapter (null: base model). */
export async function forwardLogits(decoder: Decoder, inputIds: number[][], perRow: (LoraAdapter | null)[]): Promise<Float32Array> {
  const rows = inputIds.length;
  const seq = inputIds[0].length;
  const lora = new LoraRows(decoder.cfg, rows);
  perRow.forEach((a, r) => lora.set(r, a));
  const out = await decoder.step({
    tokens: inputIds.flat(),
    rows,
    seq,
    newLengths: inputIds.map((r) => r.length),
    cache: null,
    lora,
    logitsAt: inputIds.map(() => [...Array(seq).keys()]),
  });
  return out.logits;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

export async function runParity(dir: string, log: (line: string) => void = () => {}): Promise<ParityReport> {
  const fx = await loadFixture(dir);
  const report: ParityReport = { max_abs_diff: {}, generate_match: {}, unchecked: [], ok: true };
  const adapterFor = (name: string): LoraAdapter | null | undefined => (name === 'base' ? null : fx.adapters.get(name));

  for (const key of fx.reference.keys()) {
    if (key === 'input_ids' || key === 'labels') continue;
    const [kind, name] = [key.slice(0, key.indexOf('.')), key.slice(key.indexOf('.') + 1)];
    const adapter = adapterFor(name);
    if (kind === 'logits' && adapter !== undefined) {
      const got = await forwardLogits(fx.decoder, fx.inputIds, fx.inputIds.map(() => adapter));
      const diff = maxAbsDiff(got, toFloat32(fx.reference.get(key)!));
      report.max_abs_diff[key] = diff;
      if (!(diff <= LOGITS_TOLERANCE)) report.ok = false;
      log(`${key}: max |Δ| = ${diff.toExponential(2)}${diff <= LOGITS_TOLERANCE ? '' : '  FAIL'}`);
    } else report.unchecked.push(key);
  }

  for (const [key, value] of Object.entries(fx.referenceJson)) {
    if (!key.startsWith('generate.')) continue;
    const adapter = adapterFor(key.slice('generate.'.length));
    if (adapter === undefined || !Array.isArray(value)) {
      report.unchecked.push(key);
      continue;
    }
    const prompt = fx.inputIds[0];
    const want = (value as number[]).slice(prompt.length);
    const [res] = await generate(fx.decoder, [{ prompt, adapter, maxTokens: want.length, stop: fx.eos }]);
    const match = res.tokens.length === want.length && res.tokens.every((t, i) => t === want[i]);
    report.generate_match[key] = match;
    if (!match) report.ok = false;
    log(`${key}: ${match ? 'match' : `MISMATCH got [${res.tokens}] want [${want}]`}`);
  }
  if (Object.keys(report.max_abs_diff).length === 0) report.ok = false;
  for (const key of report.unchecked) log(`${key}: unchecked`);
  return report;
}
