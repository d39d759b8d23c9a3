/**
 * `rankgate parity <dir>`: checks the engine against reference outputs of transformers + PEFT stored in a
 * fixture folder: `<dir>/base` (HF checkpoint), `<dir>/adapters/*` (PEFT folders), `<dir>/reference.safetensors`
 * and `<dir>/reference.json`. Every reference key is either checked or listed as unchecked, never passed silently.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { readAdapterFolder, readJsonFile, readModelFolder } from '../formats/files.ts';
import { decodeSafetensors, toFloat32, type Tensor } from '../../contracts/formats/safetensors.ts';
import { Decoder } from '../engine/decoder.ts';
import { generate } from '../engine/generate.ts';
import { LoraRows } from '../engine/lora-rows.ts';
import { float32Weights } from '../engine/weights.ts';
import { adamwStep, newAdamWState } from '../train/adamw.ts';
import { Backprop, countTargets } from '../train/backprop.ts';
import { paramsFromAdapter } from '../train/lora-params.ts';
import { fixtureMerges } from './parity-merges.ts';

export const LOGITS_TOLERANCE = 1e-4;
export const LOSS_REL_TOLERANCE = 1e-5;
export const GRAD_REL_TOLERANCE = 1e-4;
export const ADAMW_TOLERANCE = 1e-5;

export interface ParityReport {
  max_abs_diff: Record<string, number>;
  generate_match: Record<string, boolean>;
  /** |loss − reference| / |reference| per loss.<adapter> key. */
  loss_rel_diff: Record<string, number>;
  /** ‖grad − reference‖ / ‖reference‖ per grad.<key>. */
  grad_rel_diff: Record<string, number>;
  /** max |param − reference| after one AdamW step, per adamw1.<key>. */
  adamw_max_abs_diff: Record<string, number>;
  /** Per reference.json merge with `ok: false`: whether ours refused it too. */
  merge_refused: Record<string, boolean>;
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
  const generation = (await readJsonFile(join(dir, 'base', 'generation_config.json'), 'generation_config.json').catch(() => ({}))) as {
    eos_token_id?: number | number[];
  };
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
  const report: ParityReport = {
    max_abs_diff: {},
    generate_match: {},
    loss_rel_diff: {},
    grad_rel_diff: {},
    adamw_max_abs_diff: {},
    merge_refused: {},
    unchecked: [],
    ok: true,
  };
  const checked = new Set<string>();
  const verdict = (key: string, value: number, tolerance: number, into: Record<string, number>) => {
    into[key] = value;
    checked.add(key);
    if (!(value <= tolerance)) report.ok = false;
    log(`${key}: ${value.toExponential(2)}${value <= tolerance ? '' : `  FAIL (tolerance ${tolerance})`}`);
  };
  await checkTraining(dir, fx, (key, v, tol, kind) => verdict(key, v, tol, report[kind]));
  const merges = await fixtureMerges(fx.referenceJson, fx.adapters, log);
  report.merge_refused = merges.refused;
  if (merges.failed.length || Object.values(merges.refused).includes(false)) report.ok = false;
  const adapterFor = (name: string): LoraAdapter | null | undefined =>
    name === 'base' ? null : (fx.adapters.get(name) ?? merges.adapters.get(name));

  for (const key of fx.reference.keys()) {
    if (key === 'input_ids' || key === 'labels' || checked.has(key)) continue;
    const [kind, name] = [key.slice(0, key.indexOf('.')), key.slice(key.indexOf('.') + 1)];
    const adapter = adapterFor(name);
    if (kind === 'logits' && adapter !== undefined) {
      const got = await forwardLogits(
        fx.decoder,
        fx.inputIds,
        fx.inputIds.map(() => adapter),
      );
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
  if (report.unchecked.length) log(`unchecked: ${report.unchecked.join(', ')}`);
  return report;
}

type Verdict = (key: string, value: number, tolerance: number, kind: 'loss_rel_diff' | 'grad_rel_diff' | 'adamw_max_abs_diff') => void;

/**
 * Training references: `loss.<adapter>` (causal-LM loss on input_ids/labels), and for that adapter every
 * `grad.<peft key>` and `adamw1.<peft key>` (its tensors after one AdamW step with reference.json's `adamw`).
 */
async function checkTraining(dir: string, fx: Fixture, verdict: Verdict): Promise<void> {
  const lossKey = [...fx.reference.keys()].find((k) => k.startsWith('loss.') && fx.adapters.has(k.slice(5)));
  const labelsTensor = fx.reference.get('labels');
  if (!lossKey || !labelsTensor) return;
  const adapter = fx.adapters.get(lossKey.slice(5))!;
  const folder = await readModelFolder(join(dir, 'base'));
  const params = paramsFromAdapter(adapter);
  const backprop = new Backprop(
    folder.config,
    float32Weights(folder.config, folder.weights),
    { kind: 'lora', targets: adapter.modules },
    params,
  );
  const [rows, seq] = labelsTensor.shape;
  const batch = {
    batch: rows,
    seq,
    inputIds: Int32Array.from(fx.inputIds.flat()),
    labels: Int32Array.from(labelsTensor.data as BigInt64Array, Number),
    lengths: new Array(rows).fill(seq),
  };
  const { loss, grads } = await backprop.run(batch, 1 / countTargets(batch));
  await backprop.release();
  const want = toFloat32(fx.reference.get(lossKey)!)[0];
  verdict(lossKey, Math.abs(loss - want) / Math.abs(want), LOSS_REL_TOLERANCE, 'loss_rel_diff');

  for (const key of fx.reference.keys()) {
    if (!key.startsWith('grad.')) continue;
    const got = grads.get(key.slice(5));
    verdict(key, got ? relativeL2(got, toFloat32(fx.reference.get(key)!)) : Infinity, GRAD_REL_TOLERANCE, 'grad_rel_diff');
  }
  const settings = fx.referenceJson.adamw as { lr: number; betas: [number, number]; eps: number; weight_decay: number } | undefined;
  if (!settings) return;
  adamwStep(params, grads, newAdamWState(), {
    lr: settings.lr,
    betas: settings.betas,
    eps: settings.eps,
    weightDecay: settings.weight_decay,
  });
  for (const key of fx.reference.keys()) {
    if (!key.startsWith('adamw1.')) continue;
    const got = params.get(key.slice(7));
    verdict(key, got ? maxAbsDiff(got, toFloat32(fx.reference.get(key)!)) : Infinity, ADAMW_TOLERANCE, 'adamw_max_abs_diff');
  }
}

export function relativeL2(got: Float32Array, want: Float32Array): number {
  if (got.length !== want.length) return Infinity;
  let d = 0;
  let n = 0;
  for (let i = 0; i < got.length; i++) {
    d += (got[i] - want[i]) ** 2;
    n += want[i] ** 2;
  }
  return Math.sqrt(d / (n || 1));
}
