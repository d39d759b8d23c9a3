import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeSafetensors, type Tensor, toFloat32 } from '../../contracts/formats/safetensors.ts';
import { Decoder } from '../../gpu-backend/engine/decoder.ts';
import { LoraRows } from '../../gpu-backend/engine/lora-rows.ts';
import { openCheckpoint } from '../../gpu-backend/formats/checkpoint.ts';
import { readModelFolder, type ModelFolder } from '../../gpu-backend/formats/files.ts';
import { FIXTURE } from './helpers.ts';

let folder: ModelFolder;
let dir: string;
let bf16: Map<string, Tensor>;

/** The fixture's float32 tensors truncated to bf16, as a bf16 checkpoint stores them. */
function bf16Tensors(tensors: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    const bits = new Uint32Array(toFloat32(t).slice().buffer);
    out.set(name, { dtype: 'BF16', shape: t.shape, data: Uint16Array.from(bits, (x) => x >>> 16) });
  }
  return out;
}

beforeAll(async () => {
  folder = await readModelFolder(join(FIXTURE, 'base'));
  bf16 = bf16Tensors(folder.weights);
  dir = await mkdtemp(join(tmpdir(), 'rankgate-embedding-table-'));
  await writeFile(join(dir, 'model.safetensors'), encodeSafetensors(bf16));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

/** The inodes of the files this process maps (smaps' headers). */
async function mappedInodes(): Promise<Set<number>> {
  const smaps = await readFile('/proc/self/smaps', 'utf8');
  const inodes = new Set<number>();
  for (const m of smaps.matchAll(/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)/gm)) inodes.add(Number(m[1]));
  return inodes;
}

/** The logits of one step over every token id of the vocabulary, as one row. */
async function everyToken(decoder: Decoder): Promise<Float32Array> {
  const ids = Array.from({ length: folder.config.vocabSize }, (_, i) => i);
  const out = await decoder.step({
    tokens: ids,
    rows: 1,
    seq: ids.length,
    newLengths: [ids.length],
    cache: null,
    lora: new LoraRows(folder.config, 1),
    logitsAt: [[ids.length - 1]],
  });
  return out.logits;
}

describe('the embedding lookup', () => {
  test.each([null, 4] as const)(
    'reads a bf16 table from its file without mapping it into the process (weights %s), with the logits of the table in memory',
    async (bits) => {
      const opts = bits ? { weightQuantization: { bits } } : {};
      const fromFile = await Decoder.fromFolder({ config: folder.config, weights: await openCheckpoint(dir) }, { ...opts, lora: false });
      const inMemory = await Decoder.fromFolder({ config: folder.config, weights: bf16 }, { ...opts, lora: false });
      try {
        const logits = await everyToken(fromFile);
        // Gathered in the graph, the table was linked into the load's folder and mapped: every row looked up made
        // its pages resident in this process.
        const { ino } = await stat(join(dir, 'model.safetensors'));
        expect((await mappedInodes()).has(ino)).toBe(false);
        expect(logits).toEqual(await everyToken(inMemory));
      } finally {
        await fromFile.release();
        await inMemory.release();
      }
    },
  );
});
