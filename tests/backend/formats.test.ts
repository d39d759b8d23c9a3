import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { firstNonFinite, loadLoraAdapter } from '../../contracts/formats/adapter.ts';
import { InvalidInputError, UnsupportedError } from '../../contracts/formats/errors.ts';
import { readAdapterFolder, readCheckpointWeights, readModelFolder } from '../../gpu-backend/formats/files.ts';
import { parseModelConfig, ropeInverseFrequencies } from '../../contracts/formats/hf-config.ts';
import { parseLoraConfig, resolveTargets } from '../../contracts/formats/peft-config.ts';
import { MAX_PATTERN_LENGTH, PatternBudget, fullMatcher, suffixMatcher } from '../../contracts/formats/peft-pattern.ts';
import {
  decodeSafetensors,
  encodeSafetensors,
  floatToHalf,
  halfToFloat,
  parseSafetensorsHeader,
  toFloat32,
  type Tensor,
} from '../../contracts/formats/safetensors.ts';
import { FIXTURE, fixtureCopy } from './helpers.ts';

const baseConfig = async () => JSON.parse(await readFile(join(FIXTURE, 'base', 'config.json'), 'utf8'));
const adapterConfig = async (name: string) => JSON.parse(await readFile(join(FIXTURE, 'adapters', name, 'adapter_config.json'), 'utf8'));
const adapterConfigSync = {
  task_a: { r: 4, lora_alpha: 8, target_modules: ['v_proj', 'q_proj'], peft_type: 'LORA', bias: 'none' },
};
const adapterTensors = async (name: string) =>
  decodeSafetensors(await readFile(join(FIXTURE, 'adapters', name, 'adapter_model.safetensors'))).tensors;

/** Expects `fn` to throw an InvalidInputError whose code is `code` and whose message matches `message`. */
function expectInvalid(fn: () => unknown, code: string, message?: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).code).toBe(code);
    if (message) expect((err as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${code}`);
}

/** A raw safetensors file from a header object and a data length, for corrupting by hand. */
function rawFile(header: Record<string, unknown>, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors', () => {
  const dtypes = ['F32', 'F16', 'BF16', 'I64', 'I32', 'U8'] as const;

  test('round-trips any set of tensors of the supported dtypes', () => {
    const tensorArb = fc.record({
      dtype: fc.constantFrom(...dtypes),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== '__metadata__'),
          tensorArb,
          { maxKeys: 5 },
        ),
        (spec) => {
          const entries: [string, Tensor][] = Object.entries(spec).map(([name, { dtype, shape, seed }]) => {
            const n = shape.reduce((a, b) => a * b, 1);
            const bytes = new Uint8Array(n * { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1 }[dtype]).map(
              (_, i) => (seed + i * 31) & 0xff,
            );
            const data = {
              F32: () => new Float32Array(bytes.buffer),
              F16: () => new Uint16Array(bytes.buffer),
              BF16: () => new Uint16Array(bytes.buffer),
              I64: () => new BigInt64Array(bytes.buffer),
              I32: () => new Int32Array(bytes.buffer),
              U8: () => bytes,
            }[dtype]();
            return [name, { dtype, shape, data }];
          });
          const file = encodeSafetensors(entries, { format: 'pt' });
          const back = decodeSafetensors(file);
          expect(back.metadata).toEqual({ format: 'pt' });
          expect([...back.tensors.keys()].sort()).toEqual(entries.map(([k]) => k).sort());
          for (const [name, t] of entries) {
            const got = back.tensors.get(name)!;
            expect(got.dtype).toBe(t.dtype);
            expect(got.shape).toEqual(t.shape);
            expect(new Uint8Array(got.data.buffer)).toEqual(new Uint8Array(t.data.buffer));
          }
        },
      ),
    );
  });

  test('reads the fixture checkpoint and aligns its header to 8 bytes when writing', async () => {
    const file = new Uint8Array(await readFile(join(FIXTURE, 'adapters', 'task_a', 'adapter_model.safetensors')));
    const { tensors } = decodeSafetensors(file);
    expect(tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.shape).toEqual([4, 64]);
    const rewritten = encodeSafetensors(tensors);
    expect(Number(new DataView(rewritten.buffer).getBigUint64(0, true)) % 8).toBe(0);
  });

  test('float16 and bfloat16 widen exactly, and float16 rounds to nearest even', () => {
    for (const x of [0, 1, -2.5, 65504, 2 ** -14, 2 ** -24]) expect(halfToFloat(floatToHalf(x))).toBe(x);
    expect(halfToFloat(floatToHalf(1 + 2 ** -11))).toBe(1); // a tie rounds to even
    expect(toFloat32({ dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc000]) })).toEqual(new Float32Array([1, -2]));
  });

  test('a header length past the end of the file is refused as truncated', () => {
    const file = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4);
    new DataView(file.buffer).setBigUint64(0, 10_000n, true);
    expectInvalid(() => decodeSafetensors(file), 'safetensors_truncated', /past the end/);
  });

  test('a file shorter than 8 bytes is refused', () => {
    expectInvalid(() => decodeSafetensors(new Uint8Array(3)), 'safetensors_truncated');
  });

  test('offsets out of range (data cut short) are refused', () => {
    const file = rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8);
    expectInvalid(() => decodeSafetensors(file), 'safetensors_truncated', /offsets out of range/);
  });

  test('overlapping tensors are refused', () => {
    const file = rawFile(
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
      12,
    );
    expectInvalid(() => decodeSafetensors(file), 'safetensors_overlap', /"b".*overlaps/);
  });

  test('a byte length that does not match dtype × shape is refused', () => {
    const file = rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8);
    expectInvalid(() => decodeSafetensors(file), 'safetensors_size_mismatch', /12 bytes.*span 8/);
  });

  test('a header that is not JSON, or an unknown dtype, is refused', () => {
    const garbage = rawFile({}, 0);
    garbage.set(new TextEncoder().encode('{{'), 8);
    expectInvalid(() => decodeSafetensors(garbage), 'safetensors_bad_header');
    expectInvalid(() => decodeSafetensors(rawFile({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, 1)), 'safetensors_bad_dtype');
  });

  test('trailing bytes after the last tensor are refused (as the reference implementation does)', () => {
    const file = rawFile({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, 3);
    expectInvalid(() => decodeSafetensors(file), 'safetensors_trailing_bytes');
  });

  test('the header can be checked from a prefix alone, as the edge does with a ranged GET', () => {
    const file = encodeSafetensors([['w', { dtype: 'F32', shape: [1000], data: new Float32Array(1000) }]]);
    const headerEnd = 8 + Number(new DataView(file.buffer).getBigUint64(0, true));
    const header = parseSafetensorsHeader(file.subarray(0, headerEnd), file.byteLength);
    expect(header.tensors.get('w')).toMatchObject({ dtype: 'F32', shape: [1000] });
    expectInvalid(() => parseSafetensorsHeader(file.subarray(0, headerEnd), file.byteLength - 1), 'safetensors_truncated');
  });

  test('sharded checkpoints load through model.safetensors.index.json', async () => {
    const dir = await fixtureCopy();
    const base = join(dir, 'base');
    const weights = decodeSafetensors(await readFile(join(base, 'model.safetensors'))).tensors;
    const names = [...weights.keys()];
    const shards = [names.slice(0, 7), names.slice(7)];
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      await writeFile(join(base, file), encodeSafetensors(shard.map((n) => [n, weights.get(n)!])));
      for (const n of shard) weightMap[n] = file;
    }
    await rm(join(base, 'model.safetensors'));
    await writeFile(join(base, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const loaded = await readCheckpointWeights(base);
    expect([...loaded.keys()].sort()).toEqual(names.sort());
    expect(toFloat32(loaded.get('lm_head.weight')!)).toEqual(toFloat32(weights.get('lm_head.weight')!));
    await rm(dir, { recursive: true });
  });
});

describe('config.json', () => {
  test('reads the fixture (transformers 5: rope_parameters) and transformers 4 (top-level rope_theta) alike', async () => {
    const v5 = parseModelConfig(await baseConfig());
    expect(v5).toMatchObject({
      family: 'llama',
      numHeads: 4,
      numKvHeads: 2,
      headDim: 16,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
      tieWordEmbeddings: false,
    });
    const { rope_parameters: _, ...rest } = await baseConfig();
    expect(parseModelConfig({ ...rest, rope_theta: 500000 }).ropeTheta).toBe(500000);
  });

  test('Qwen2 has q/k/v biases and no o_proj bias; Mistral keeps its sliding window', async () => {
    const qwen = parseModelConfig({
      ...(await baseConfig()),
      model_type: 'qwen2',
      architectures: ['Qwen2ForCausalLM'],
      tie_word_embeddings: true,
    });
    expect(qwen).toMatchObject({ family: 'qwen2', qkvBias: true, oBias: false, tieWordEmbeddings: true });
    const mistral = parseModelConfig({ ...(await baseConfig()), model_type: 'mistral', sliding_window: 4096 });
    expect(mistral).toMatchObject({ family: 'mistral', slidingWindow: 4096 });
  });

  test('llama3 rope scaling rescales low frequencies as transformers does', async () => {
    const cfg = parseModelConfig({
      ...(await baseConfig()),
      rope_parameters: {
        rope_type: 'llama3',
        rope_theta: 500000,
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    });
    const plain = ropeInverseFrequencies({ ...cfg, ropeScaling: null });
    const scaled = ropeInverseFrequencies(cfg);
    expect(scaled[0]).toBe(plain[0]); // high frequency: unchanged
    expect(scaled[7]).toBeCloseTo(plain[7] / 8, 12); // wavelength beyond 8192: divided by factor
  });

  test('unsupported architectures and rope scaling types are refused by name', async () => {
    const cfg = await baseConfig();
    expect(() => parseModelConfig({ ...cfg, model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] })).toThrow(UnsupportedError);
    expectInvalid(
      () => parseModelConfig({ ...cfg, model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] }),
      'unsupported_architecture',
      /gpt2/,
    );
    expectInvalid(
      () => parseModelConfig({ ...cfg, rope_parameters: { rope_type: 'yarn', rope_theta: 1e4, factor: 4 } }),
      'unsupported_rope_scaling',
      /"yarn"/,
    );
    expectInvalid(() => parseModelConfig({ ...cfg, num_key_value_heads: 3 }), 'bad_model_config', /multiple/);
    expectInvalid(() => parseModelConfig({ ...cfg, hidden_size: 'big' }), 'bad_model_config', /hidden_size/);
  });
});

describe('PEFT adapters', () => {
  test('the fixture adapters resolve to their targets with PEFT scales (rsLoRA for task_c)', async () => {
    const model = parseModelConfig(await baseConfig());
    const a = resolveTargets(parseLoraConfig(await adapterConfig('task_a')), model);
    expect(a.map((t) => t.path)).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
    ]);
    expect(a[0].scale).toBe(2);
    const c = resolveTargets(parseLoraConfig(await adapterConfig('task_c')), model);
    expect(c).toHaveLength(14);
    expect(c[0].scale).toBeCloseTo(32 / Math.sqrt(8), 12);
  });

  test('regex target_modules, layers_to_transform, rank_pattern and alpha_pattern follow PEFT', async () => {
    const model = parseModelConfig(await baseConfig());
    const regex = resolveTargets(parseLoraConfig({ r: 4, lora_alpha: 8, target_modules: '.*layers\\.1\\.mlp\\.(gate|up)_proj' }), model);
    expect(regex.map((t) => t.path)).toEqual(['model.layers.1.mlp.gate_proj', 'model.layers.1.mlp.up_proj']);
    const layers = resolveTargets(parseLoraConfig({ r: 4, target_modules: ['q_proj'], layers_to_transform: [1] }), model);
    expect(layers.map((t) => t.layer)).toEqual([1]);
    const patterned = resolveTargets(
      parseLoraConfig({
        r: 4,
        lora_alpha: 8,
        target_modules: ['q_proj', 'v_proj'],
        rank_pattern: { v_proj: 2 },
        alpha_pattern: { 'layers.1.self_attn.q_proj': 16 },
      }),
      model,
    );
    expect(patterned.map((t) => [t.path, t.rank, t.scale])).toEqual([
      ['model.layers.0.self_attn.q_proj', 4, 2],
      ['model.layers.0.self_attn.v_proj', 2, 4],
      ['model.layers.1.self_attn.q_proj', 4, 4],
      ['model.layers.1.self_attn.v_proj', 2, 4],
    ]);
  });

  test('layers_pattern picks the layer index as PEFT does; fan_in_fan_out changes nothing on Linear projections', async () => {
    const model = parseModelConfig(await baseConfig());
    const paths = (extra: Record<string, unknown>) =>
      resolveTargets(parseLoraConfig({ r: 4, target_modules: ['q_proj'], layers_to_transform: 1, ...extra }), model).map((t) => t.path);
    expect(paths({ layers_pattern: 'layers' })).toEqual(['model.layers.1.self_attn.q_proj']);
    expect(paths({ layers_pattern: ['h', 'layers'] })).toEqual(['model.layers.1.self_attn.q_proj']);
    expect(paths({ layers_pattern: '' })).toEqual(['model.layers.1.self_attn.q_proj']);
    // GPT-2's layer list is `h`: nothing of a Llama matches, and PEFT would find no target either.
    expectInvalid(() => paths({ layers_pattern: 'h' }), 'unknown_target_modules', /layers_pattern \["h"\] selects no layer/);
    // Without layers_to_transform, PEFT ignores layers_pattern.
    expect(resolveTargets(parseLoraConfig({ r: 4, target_modules: ['q_proj'], layers_pattern: 'h' }), model)).toHaveLength(model.numLayers);
    const plain = resolveTargets(parseLoraConfig(adapterConfigSync.task_a), model);
    expect(resolveTargets(parseLoraConfig({ ...adapterConfigSync.task_a, fan_in_fan_out: true }), model)).toEqual(plain);
    const tensors = await adapterTensors('task_a');
    expect(loadLoraAdapter({ ...adapterConfigSync.task_a, fan_in_fan_out: true }, model, tensors).modules.map((m) => m.path)).toEqual(
      plain.map((t) => t.path),
    );
  });

  test('patterns that backtrack exponentially are matched in linear time, with the answer PEFT gets', async () => {
    const model = parseModelConfig(await baseConfig());
    // A backtracking engine takes time exponential in the path's length on this: over 20 s for one module path.
    const evil = '([\\w.]+)+!';
    expectInvalid(() => resolveTargets(parseLoraConfig({ r: 4, target_modules: evil }), model), 'unknown_target_modules');
    const ranked = resolveTargets(parseLoraConfig({ r: 4, target_modules: ['q_proj'], rank_pattern: { [evil]: 2, q_proj: 3 } }), model);
    expect(ranked.map((t) => t.rank)).toEqual([3, 3]);
    const source = { field: 'target_modules', label: 'target_modules' } as const;
    const long = 'a'.repeat(100_000);
    expect(fullMatcher('(a+)+$', source, new PatternBudget())(long)).toBe(true);
    expect(fullMatcher('(a+)+$', source, new PatternBudget())(`${long}!`)).toBe(false);
    expect(suffixMatcher('(a|aa)*b', source, new PatternBudget())(`x.${long}`)).toBe(false);
    expect(suffixMatcher('(a|aa)*b', source, new PatternBudget())(`x.${long}b`)).toBe(true);
    // The key matches from a dot boundary (or the start) to the end, never from inside a name.
    expect(suffixMatcher('(a|aa)*b', source, new PatternBudget())(`x${long}b`)).toBe(false);
  });

  test('plain keys follow the suffix rule, dots included as any character, as PEFT get_pattern_key does', () => {
    const source = { field: 'rank_pattern', label: 'rank_pattern key' } as const;
    const key = (k: string) => suffixMatcher(k, source, new PatternBudget());
    expect(key('q_proj')('model.layers.0.self_attn.q_proj')).toBe(true);
    expect(key('q_proj')('q_proj')).toBe(true);
    expect(key('q_proj')('model.layers.0.self_attn.xq_proj')).toBe(false);
    expect(key('layers.1.self_attn.q_proj')('model.layers.1.self_attn.q_proj')).toBe(true);
    expect(key('layers.1.self_attn.q_proj')('model.layers.11.self_attn.q_proj')).toBe(false);
    // `.` is Python's any character: re.match(r"(.*\.)?(layers.1)$", "model.layers_1") matches.
    expect(key('layers.1')('model.layers_1')).toBe(true);
  });

  test('patterns RE2 cannot run, too long or too complex are refused, naming the field', () => {
    const refused = (config: Record<string, unknown>, code: string, param: string, message: RegExp) => {
      try {
        parseLoraConfig({ r: 4, target_modules: ['q_proj'], ...config });
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidInputError);
        expect({ code: (err as InvalidInputError).code, param: (err as InvalidInputError).param }).toEqual({ code, param });
        expect((err as Error).message).toMatch(message);
        return;
      }
      throw new Error(`expected ${code}`);
    };
    refused({ target_modules: '^(?!.*vision).*q_proj' }, 'unsupported_pattern', 'target_modules', /target_modules uses a lookaround/);
    refused(
      { rank_pattern: { '(\\w)\\1': 2 } },
      'unsupported_pattern',
      'rank_pattern',
      /rank_pattern key "\(\\\\w\)\\\\1" uses a backreference/,
    );
    refused(
      { alpha_pattern: { '[q': 2 } },
      'bad_adapter_config',
      'alpha_pattern',
      /not a valid regular expression \(RE2 syntax\): missing closing \]/,
    );
    const long = `${'q_proj|'.repeat(100)}v_proj`;
    refused(
      { target_modules: long },
      'pattern_too_long',
      'target_modules',
      new RegExp(`is ${long.length} characters; .* limited to ${MAX_PATTERN_LENGTH}`),
    );
    refused({ layers_pattern: 'x'.repeat(MAX_PATTERN_LENGTH + 1) }, 'pattern_too_long', 'layers_pattern', /layers_pattern "x+…" is 513/);
    const heavy = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`(?:\\pL{30}){30}${i}`, 2]));
    refused({ rank_pattern: heavy }, 'pattern_too_complex', 'rank_pattern', /RE2 instructions; the limit for one config is 4096/);
  });

  test('long target lists and layer counts stay cheap: names looked up, at most 1024 layers, ten unknown names quoted', async () => {
    const cfg = await baseConfig();
    expectInvalid(
      () => parseModelConfig({ ...cfg, num_hidden_layers: 1_000_000 }),
      'bad_model_config',
      /num_hidden_layers is 1000000; .* at most 1024/,
    );
    const model = parseModelConfig({ ...cfg, num_hidden_layers: 1024 });
    const names = [...Array.from({ length: 8000 }, (_, i) => `p${i}`), 'q_proj'];
    expectInvalid(
      () => resolveTargets(parseLoraConfig({ r: 4, target_modules: names }), model),
      'unknown_target_modules',
      /^adapter_config.json: target_modules \["p0",.*"p9"\] \(and 7990 more\) match no module/,
    );
    // A module named by its full path is taken whatever layers_to_transform says, as PEFT does.
    const full = parseLoraConfig({ r: 4, target_modules: ['model.layers.3.mlp.up_proj', 'q_proj'], layers_to_transform: [1] });
    expect(resolveTargets(full, model).map((t) => t.path)).toEqual(['model.layers.1.self_attn.q_proj', 'model.layers.3.mlp.up_proj']);
  });

  test('layers_pattern is spliced in ungrouped and anchored as re.match does', async () => {
    const model = parseModelConfig(await baseConfig());
    const config = (layers_pattern: string) =>
      parseLoraConfig({ r: 4, target_modules: ['q_proj'], layers_to_transform: 1, layers_pattern });
    expect(resolveTargets(config('lay(?:er)s'), model).map((t) => t.path)).toEqual(['model.layers.1.self_attn.q_proj']);
    // re.match(r".*\.h|layers\.(\d+)\.", "model.layers.1.self_attn.q_proj") is None: both branches start at 0.
    expectInvalid(() => resolveTargets(config('h|layers'), model), 'unknown_target_modules', /selects no layer/);
  });

  test('a config.json field of the wrong type is named, with what it should be', () => {
    expectInvalid(
      () => parseModelConfig({ vocab_size: 10 }),
      'bad_model_config',
      /Missing required field "hidden_size" in config.json; expected number/,
    );
    expectInvalid(() => parseLoraConfig({ r: 'four' }), 'bad_adapter_config', /Invalid "r" in adapter_config.json/);
  });

  test('an adapter made for another base (shape mismatch) is refused by tensor name, with both shapes', async () => {
    const other = parseModelConfig({ ...(await baseConfig()), hidden_size: 128, head_dim: 32 });
    const tensors = await adapterTensors('task_a');
    expectInvalid(
      () => loadLoraAdapter(adapterConfigSync.task_a, other, tensors),
      'adapter_shape_mismatch',
      /q_proj\.lora_A\.weight" has shape \[4,64\] but this base model needs \[4,128\]/,
    );
  });

  test('unknown target modules are refused by name', async () => {
    const model = parseModelConfig(await baseConfig());
    const tensors = await adapterTensors('task_a');
    expectInvalid(
      () => loadLoraAdapter({ r: 4, target_modules: ['c_attn', 'q_proj'] }, model, tensors),
      'unknown_target_modules',
      /c_attn/,
    );
  });

  test('rank 0 and rank above 256 are refused', async () => {
    const model = parseModelConfig(await baseConfig());
    expectInvalid(() => loadLoraAdapter({ ...adapterConfigSync.task_a, r: 0 }, model, new Map()), 'bad_lora_rank', /from 1 to 256/);
    expectInvalid(() => loadLoraAdapter({ ...adapterConfigSync.task_a, r: 300 }, model, new Map()), 'bad_lora_rank');
    expectInvalid(() => loadLoraAdapter({ ...adapterConfigSync.task_a, rank_pattern: { q_proj: 512 } }, model, new Map()), 'bad_lora_rank');
  });

  test('NaN or Inf in adapter weights is refused with where it is', async () => {
    const model = parseModelConfig(await baseConfig());
    for (const bad of [NaN, Infinity]) {
      const tensors = await adapterTensors('task_a');
      (tensors.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')!.data as Float32Array)[5] = bad;
      expectInvalid(
        () => loadLoraAdapter(adapterConfigSync.task_a, model, tensors),
        'adapter_not_finite',
        /v_proj\.lora_B\.weight" holds .* at index 5/,
      );
    }
  });

  test('firstNonFinite finds the first NaN or ±Inf wherever it lies in its group of eight, and none among finite values', () => {
    for (const length of [0, 1, 7, 8, 9, 23, 64]) {
      const finite = Float32Array.from({ length }, (_, i) => [-0, 0, 3.4e38, -3.4e38, 1e-45, -1.5][i % 6]);
      expect(firstNonFinite(finite)).toBe(-1);
      for (const at of [0, 3, 7, 8, length - 1].filter((i) => i >= 0 && i < length))
        for (const bad of [Number.NaN, Infinity, -Infinity]) {
          const data = finite.slice();
          data[at] = bad;
          if (at + 2 < length) data[at + 2] = Number.NaN;
          expect(firstNonFinite(data)).toBe(at);
        }
    }
  });

  test('DoRA, trained biases and modules_to_save are refused as unsupported', async () => {
    for (const extra of [{ use_dora: true }, { bias: 'all' }, { modules_to_save: ['lm_head'] }]) {
      expect(() => parseLoraConfig({ ...adapterConfigSync.task_a, ...extra })).toThrow(UnsupportedError);
    }
  });

  test('the CLI reports a corrupted adapter as a clear error and exit code 2, not a crash', async () => {
    const dir = await fixtureCopy();
    const file = join(dir, 'adapters', 'task_b', 'adapter_model.safetensors');
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 100));
    const res = await promisify(execFile)(process.execPath, ['bin/rankgate.js', 'parity', dir], {
      cwd: join(import.meta.dirname, '..', '..'),
    }).catch((e) => e);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/rankgate: .*truncated/);
    await rm(dir, { recursive: true });
  });

  test('reading folders works end to end', async () => {
    const model = await readModelFolder(join(FIXTURE, 'base'));
    const adapter = await readAdapterFolder(join(FIXTURE, 'adapters', 'task_c'), model.config);
    expect(adapter.modules).toHaveLength(14);
    await expect(readAdapterFolder(join(FIXTURE, 'nope'), model.config)).rejects.toMatchObject({ code: 'missing_file' });
  });
});
