/**
 * Embeddings from the serving graph's last hidden state, checked against hidden states computed independently:
 * transformers' reference logits z = h·Wᵀ (W: the fixture's untied lm_head, 320×64, full column rank) determine
 * the normed hidden state h by least squares, which this test pools itself.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { toFloat32 } from '../../contracts/formats/safetensors.ts';
import { loadFixture, maxAbsDiff, type Fixture } from '../../gpu-backend/cli/parity.ts';
import type { Pooling } from '../../gpu-backend/engine/embedding.ts';
import { generate, type GenerationRequest } from '../../gpu-backend/engine/generate.ts';
import { readModelFolder } from '../../gpu-backend/formats/files.ts';
import { fromArray, matmul, qr, type Mat } from '../../gpu-backend/lowrank/linalg.ts';
import { Scheduler } from '../../gpu-backend/serve/scheduler.ts';
import { FIXTURE } from './helpers.ts';

const NAMES = ['base', 'task_a', 'task_b', 'task_c'] as const;
let fx: Fixture;
let lmHead: { q: Mat; r: Mat };

beforeAll(async () => {
  fx = await loadFixture(FIXTURE);
  const { config, weights } = await readModelFolder(join(FIXTURE, 'base'));
  const w = weights.get('lm_head.weight')!;
  lmHead = qr(fromArray(config.vocabSize, config.hiddenSize, toFloat32(w)));
});

const adapter = (name: string) => (name === 'base' ? null : fx.adapters.get(name)!);

/** The normed hidden states [seq, hidden] of row `row` that give transformers' logits: h = z·Q·R⁻ᵀ. */
function referenceHidden(name: string, row: number): Mat {
  const logits = toFloat32(fx.reference.get(`logits.${name}`)!);
  const { q, r } = lmHead;
  const seq = fx.inputIds[row].length;
  const m = matmul(fromArray(seq, q.rows, logits.subarray(row * seq * q.rows, (row + 1) * seq * q.rows)), q);
  const k = r.rows;
  const h = new Float64Array(seq * k);
  // Each position solves R·hᵀ = mᵀ by back substitution.
  for (let t = 0; t < seq; t++)
    for (let i = k - 1; i >= 0; i--) {
      let s = m.data[t * k + i];
      for (let j = i + 1; j < k; j++) s -= r.data[i * k + j] * h[t * k + j];
      h[t * k + i] = s / r.data[i * k + i];
    }
  return { rows: seq, cols: k, data: h };
}

function referenceEmbedding(name: string, row: number, pooling: Pooling): Float32Array {
  const h = referenceHidden(name, row);
  const from = pooling === 'last' ? h.rows - 1 : 0;
  const sum = new Float64Array(h.cols);
  for (let t = from; t < h.rows; t++) for (let d = 0; d < h.cols; d++) sum[d] += h.data[t * h.cols + d];
  const norm = Math.hypot(...sum);
  return Float32Array.from(sum, (x) => x / norm);
}

const embed = (name: string, prompt: number[], pooling: Pooling = 'mean'): GenerationRequest => ({
  prompt,
  adapter: adapter(name),
  maxTokens: 1,
  embedding: pooling,
});

describe('embeddings from the last hidden state', () => {
  test.each(NAMES)('mean and last pooling of %s equal those of transformers’ hidden states', async (name) => {
    for (const pooling of ['mean', 'last'] as const) {
      const results = await generate(
        fx.decoder,
        fx.inputIds.map((ids) => embed(name, ids, pooling)),
      );
      results.forEach((res, row) => {
        expect(res.embedding).toHaveLength(fx.decoder.cfg.hiddenSize);
        expect(Math.hypot(...res.embedding!)).toBeCloseTo(1, 5);
        expect(maxAbsDiff(res.embedding!, referenceEmbedding(name, row, pooling))).toBeLessThan(1e-4);
        expect(res.tokens).toEqual([]);
      });
    }
  });

  test('an adapter changes the embedding, and equals its own hidden states, not the base’s', async () => {
    const [base, taskA, taskC] = await generate(fx.decoder, [
      embed('base', fx.inputIds[0]),
      embed('task_a', fx.inputIds[0]),
      embed('task_c', fx.inputIds[0]),
    ]);
    for (const [res, name] of [
      [taskA, 'task_a'],
      [taskC, 'task_c'],
    ] as const) {
      expect(maxAbsDiff(res.embedding!, base.embedding!)).toBeGreaterThan(1e-2);
      expect(maxAbsDiff(res.embedding!, referenceEmbedding(name, 0, 'mean'))).toBeLessThan(1e-4);
    }
  });

  test('embedding rows batched with other adapters, other lengths and generating rows equal each alone', async () => {
    const requests: GenerationRequest[] = [0, 1, 2, 0, 1, 2, 0].map((r, i) =>
      i % 3 === 2
        ? { prompt: fx.inputIds[0], adapter: adapter(NAMES[i % 4]), maxTokens: 10 }
        : embed(NAMES[i % 4], fx.inputIds[r].slice(0, 5 + i), i % 2 ? 'last' : 'mean'),
    );
    const batched = await generate(fx.decoder, requests, { maxBatch: 3 });
    for (const [i, req] of requests.entries()) {
      const [alone] = await generate(fx.decoder, [req]);
      if (req.embedding) expect(maxAbsDiff(batched[i].embedding!, alone.embedding!)).toBeLessThan(1e-5);
      else {
        expect(batched[i].tokens).toEqual((fx.referenceJson[`generate.${NAMES[i % 4]}`] as number[]).slice(fx.inputIds[0].length));
        expect(batched[i].tokens).toEqual(alone.tokens);
      }
    }
  });

  test('the serving scheduler prefills embeddings beside running generations and answers them at once', async () => {
    const scheduler = new Scheduler(fx.decoder, { maxBatch: 4 });
    const generation = scheduler.submit({ prompt: fx.inputIds[0], adapter: adapter('task_b'), maxTokens: 10 });
    const embeddings = await Promise.all(NAMES.map((name, i) => scheduler.submit(embed(name, fx.inputIds[i % 3]))));
    embeddings.forEach((res, i) => expect(maxAbsDiff(res.embedding!, referenceEmbedding(NAMES[i], i % 3, 'mean'))).toBeLessThan(1e-4));
    expect((await generation).tokens).toEqual((fx.referenceJson['generate.task_b'] as number[]).slice(fx.inputIds[0].length));
  });

  test('an input longer than the context is refused; no max_tokens is needed', async () => {
    const limit = fx.decoder.cfg.maxPositionEmbeddings;
    await expect(generate(fx.decoder, [embed('base', new Array(limit + 1).fill(1))])).rejects.toMatchObject({ code: 'context_too_long' });
    const [res] = await generate(fx.decoder, [{ ...embed('base', fx.inputIds[0]), maxTokens: 0 }]);
    expect(res.embedding).toHaveLength(fx.decoder.cfg.hiddenSize);
  });
});
