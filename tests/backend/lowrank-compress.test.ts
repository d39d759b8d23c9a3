import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { type AdapterModule, type LoraAdapter, loadLoraAdapter } from '../../contracts/formats/adapter.ts';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import type { ModelConfig } from '../../contracts/formats/hf-config.ts';
import { decodeSafetensors } from '../../contracts/formats/safetensors.ts';
import { readAdapterFolder, readModelFolder } from '../../gpu-backend/formats/files.ts';
import { type CompressSpec, compressAdapter } from '../../gpu-backend/lowrank/compress.ts';
import { fromArray, type Mat, matmul, qr, transpose } from '../../gpu-backend/lowrank/linalg.ts';
import { adapterFiles, adapterFromFactors } from '../../gpu-backend/lowrank/peft-adapter.ts';
import { adapterSpectra, gaussian } from '../../gpu-backend/lowrank/svd.ts';

const MODEL = join(import.meta.dirname, '..', '..', 'models', 'rankgate-tiny');
let model: ModelConfig;
let adapter: LoraAdapter;

beforeAll(async () => {
  model = (await readModelFolder(join(MODEL, 'base'))).config;
  adapter = await readAdapterFolder(join(MODEL, 'adapters', 'acronym'), model);
});

const delta = (m: AdapterModule): Mat => {
  const d = matmul(fromArray(m.out, m.rank, m.b), fromArray(m.rank, m.in, m.a));
  for (let i = 0; i < d.data.length; i++) d.data[i] *= m.scale;
  return d;
};
const relDiff = (x: Mat, y: Mat) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.data.length; i++) {
    num += (x.data[i] - y.data[i]) ** 2;
    den += y.data[i] ** 2;
  }
  return Math.sqrt(num / den);
};
/** The compressed adapter as PEFT would load it: written out and read back against the base model. */
const reload = (a: LoraAdapter): LoraAdapter => {
  const files = adapterFiles(a);
  return loadLoraAdapter(JSON.parse(files.config), model, decodeSafetensors(files.weights).tensors);
};

describe('compressAdapter', () => {
  test('to full rank is lossless: relError ~0 and every ΔW reproduced', () => {
    const { adapter: out, report } = compressAdapter(adapter, { rank: 8 }, 'rankgate-tiny');
    expect(report.storageRatio).toBe(1);
    const back = reload(out);
    for (const [i, m] of adapter.modules.entries()) {
      expect(report.modules[i].relError).toBeLessThan(1e-6);
      expect(relDiff(delta(back.modules[i]), delta(m))).toBeLessThan(1e-5);
    }
  });

  test('an adapter on some layers, or an uneven set of modules, comes back with exactly its modules', () => {
    const layerOne = { ...adapter, modules: adapter.modules.filter((m) => m.layer === 1) };
    const back = reload(compressAdapter(layerOne, { rank: 4 }, 'rankgate-tiny').adapter);
    expect(back.modules.map((m) => m.path)).toEqual(layerOne.modules.map((m) => m.path));
    expect(back.config.layersToTransform).toEqual([1]);
    const uneven = { ...adapter, modules: adapter.modules.filter((m) => m.layer === 0 || m.projection === 'q_proj') };
    const unevenBack = reload(compressAdapter(uneven, { rank: 4 }, 'rankgate-tiny').adapter);
    expect(unevenBack.modules.map((m) => m.path).sort()).toEqual(uneven.modules.map((m) => m.path).sort());
  });

  test('to rank 2: the reported error is the true error of ΔW, and one r for all modules', () => {
    const { adapter: out, report } = compressAdapter(adapter, { rank: 2 }, 'rankgate-tiny');
    expect(out.config.r).toBe(2);
    expect(out.config.rankPattern).toEqual({});
    expect(report.storageRatio).toBeCloseTo(0.25, 12);
    const back = reload(out);
    for (const [i, m] of adapter.modules.entries()) {
      expect(back.modules[i].rank).toBe(2);
      expect(relDiff(delta(back.modules[i]), delta(m))).toBeCloseTo(report.modules[i].relError, 5);
    }
  });

  test('a rank above the module rank is capped', () => {
    const { report } = compressAdapter(adapter, { rank: 64 }, 'rankgate-tiny');
    expect(report.modules.every((m) => m.rank === 8)).toBe(true);
  });

  test('to energy 0.9: each module keeps the smallest rank holding 90% of Σσ², rank_pattern where ranks differ', () => {
    const { adapter: out, report } = compressAdapter(adapter, { energy: 0.9 }, 'rankgate-tiny');
    const spectra = adapterSpectra(adapter);
    for (const [i, m] of report.modules.entries()) {
      const e = spectra[i].s.reduce((sum, x) => sum + x * x, 0);
      const kept = (k: number) => spectra[i].s.slice(0, k).reduce((sum, x) => sum + x * x, 0) / e;
      expect(m.energyKept).toBeGreaterThanOrEqual(0.9 - 1e-12);
      expect(m.energyKept).toBeCloseTo(kept(m.rank), 12);
      if (m.rank > 1) expect(kept(m.rank - 1)).toBeLessThan(0.9);
      expect(m.relError).toBeCloseTo(Math.sqrt(1 - m.energyKept), 12);
    }
    const ranks = new Set(report.modules.map((m) => m.rank));
    expect(ranks.size).toBeGreaterThan(1);
    const back = reload(out);
    expect(back.modules.map((m) => m.rank)).toEqual(report.modules.map((m) => m.rank));
    expect(Object.keys(out.config.rankPattern).length).toBeGreaterThan(0);
  });

  test('energy 1 keeps all of it', () => {
    const { report } = compressAdapter(adapter, { energy: 1 }, 'rankgate-tiny');
    for (const m of report.modules) expect(m.relError).toBeLessThan(1e-6);
  });

  test('under a byte budget: stays within it, keeps rank ≥ 1, and keeps more energy than a uniform rank of the same size', () => {
    const uniform = compressAdapter(adapter, { rank: 2 }, 'rankgate-tiny').report;
    const { report } = compressAdapter(adapter, { budgetBytes: uniform.bytesAfter }, 'rankgate-tiny');
    expect(report.bytesAfter).toBeLessThanOrEqual(uniform.bytesAfter);
    expect(report.modules.every((m) => m.rank >= 1)).toBe(true);
    const spectra = adapterSpectra(adapter);
    const keptEnergy = (r: typeof report) =>
      r.modules.reduce((sum, m, i) => sum + spectra[i].s.slice(0, m.rank).reduce((s, x) => s + x * x, 0), 0);
    expect(keptEnergy(report)).toBeGreaterThan(keptEnergy(uniform));
  });

  test("allocation 'relative' lowers per-module relative errors, 'energy' the adapter's total error", () => {
    const uniform = compressAdapter(adapter, { rank: 4 }, 'rankgate-tiny').report;
    const byEnergy = compressAdapter(adapter, { budgetBytes: uniform.bytesAfter }, 'rankgate-tiny').report;
    const byRelative = compressAdapter(adapter, { budgetBytes: uniform.bytesAfter, allocation: 'relative' }, 'rankgate-tiny').report;
    const spectra = adapterSpectra(adapter);
    const energy = spectra.map((s) => s.s.reduce((sum, x) => sum + x * x, 0));
    const totalDropped = (r: typeof uniform) => r.modules.reduce((sum, m, i) => sum + m.relError ** 2 * energy[i], 0);
    const sumRelative = (r: typeof uniform) => r.modules.reduce((sum, m) => sum + m.relError ** 2, 0);
    expect(byRelative.bytesAfter).toBeLessThanOrEqual(uniform.bytesAfter);
    expect(totalDropped(byEnergy)).toBeLessThan(totalDropped(byRelative));
    expect(sumRelative(byRelative)).toBeLessThan(sumRelative(byEnergy));
    expect(sumRelative(byRelative)).toBeLessThan(sumRelative(uniform));
  });

  test('a budget goes to the module whose spectrum decays slowly (WeLore)', () => {
    // Two modules of equal shape and similar energy (6 and 5.8): one flat spectrum, one steep.
    const module = (path: string, sigma: number[], seed: number) => {
      const u = qr(gaussian(32, sigma.length, seed)).q;
      const v = qr(gaussian(48, sigma.length, seed + 1)).q;
      for (let i = 0; i < 32; i++) for (let j = 0; j < sigma.length; j++) u.data[i * sigma.length + j] *= sigma[j];
      return { layer: 0, projection: path as 'q_proj', path: `model.layers.0.self_attn.${path}`, b: u, a: transpose(v) };
    };
    const flat = [1, 1, 1, 1, 1, 1];
    const steep = [2.3, 0.6, 0.3, 0.1, 0.05, 0.01];
    const synthetic = adapterFromFactors([module('q_proj', flat, 1), module('k_proj', steep, 3)], 'synthetic');
    const perRank = (32 + 48) * 4;
    const { report } = compressAdapter(synthetic, { budgetBytes: 6 * perRank }, 'synthetic');
    expect(report.modules.map((m) => m.rank)).toEqual([5, 1]);
    expect(report.bytesAfter).toBe(6 * perRank);
  });

  test.each<[CompressSpec, string]>([
    [{ rank: 0 }, 'bad_rank'],
    [{ rank: 2.5 }, 'bad_rank'],
    [{ energy: 0 }, 'bad_energy'],
    [{ energy: 1.2 }, 'bad_energy'],
    [{ energy: Number.NaN }, 'bad_energy'],
    [{ budgetBytes: 0 }, 'bad_budget'],
    [{ budgetBytes: -10 }, 'bad_budget'],
    [{ budgetBytes: 1000 }, 'bad_budget'],
    [{ budgetBytes: 1e9, allocation: 'size' } as unknown as CompressSpec, 'bad_allocation'],
    [{} as CompressSpec, 'bad_compression'],
  ])('refuses %o with %s', (spec, code) => {
    let error: unknown;
    try {
      compressAdapter(adapter, spec, 'rankgate-tiny');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).code).toBe(code);
  });

  test('a too-small budget says how many bytes rank 1 everywhere needs', () => {
    const floor = adapter.modules.reduce((sum, m) => sum + (m.in + m.out) * 4, 0);
    expect(() => compressAdapter(adapter, { budgetBytes: floor - 1 }, 'rankgate-tiny')).toThrow(`give at least ${floor}`);
  });
});
