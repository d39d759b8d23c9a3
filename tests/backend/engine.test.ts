import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';
import { forwardLogits, loadFixture, maxAbsDiff, type Fixture } from '../../gpu-backend/cli/parity.ts';
import { join } from 'node:path';
import { Decoder } from '../../gpu-backend/engine/decoder.ts';
import { type GenerationRequest, generate, newRow, RunningBatch } from '../../gpu-backend/engine/generate.ts';
import { readModelFolder } from '../../gpu-backend/formats/files.ts';
import { toFloat32 } from '../../contracts/formats/safetensors.ts';
import { FIXTURE } from './helpers.ts';

const run = promisify(execFile);
let fx: Fixture;
const NAMES = ['base', 'task_a', 'task_b', 'task_c'] as const;

beforeAll(async () => {
  fx = await loadFixture(FIXTURE);
});

const adapter = (name: string) => (name === 'base' ? null : fx.adapters.get(name)!);
const reference = (key: string) => toFloat32(fx.reference.get(key)!);
const refGeneration = (name: string) => (fx.referenceJson[`generate.${name}`] as number[]).slice(fx.inputIds[0].length);
/** Rows [row] of a [rows, seq, vocab] logits tensor. */
const row = (logits: Float32Array, r: number) => {
  const n = logits.length / fx.inputIds.length;
  return logits.subarray(r * n, (r + 1) * n);
};

describe('engine against transformers + PEFT (tiny-llama fixture)', () => {
  test.each(NAMES)('full-sequence logits of %s are within 1e-4', async (name) => {
    const got = await forwardLogits(
      fx.decoder,
      fx.inputIds,
      fx.inputIds.map(() => adapter(name)),
    );
    expect(maxAbsDiff(got, reference(`logits.${name}`))).toBeLessThan(1e-4);
  });

  test.each(NAMES)('greedy generation of %s through the KV cache is identical', async (name) => {
    const [res] = await generate(fx.decoder, [{ prompt: fx.inputIds[0], adapter: adapter(name), maxTokens: 10 }]);
    expect(res.tokens).toEqual(refGeneration(name));
  });

  test('a mixed batch (task_a, no adapter, task_c) equals the single-adapter references row by row', async () => {
    const perRow = [adapter('task_a'), null, adapter('task_c')];
    const got = await forwardLogits(fx.decoder, fx.inputIds, perRow);
    expect(maxAbsDiff(row(got, 0), row(reference('logits.task_a'), 0))).toBeLessThan(1e-4);
    expect(maxAbsDiff(row(got, 1), row(reference('logits.base'), 1))).toBeLessThan(1e-4);
    expect(maxAbsDiff(row(got, 2), row(reference('logits.task_c'), 2))).toBeLessThan(1e-4);
  });

  test('a batch without adapters runs the base path: the same logits as a graph with no LoRA path at all', async () => {
    const plain = await Decoder.fromFolder(await readModelFolder(join(FIXTURE, 'base')), { lora: false });
    const none = fx.inputIds.map(() => null);
    const got = await forwardLogits(fx.decoder, fx.inputIds, none);
    expect(maxAbsDiff(got, await forwardLogits(plain, fx.inputIds, none))).toBeLessThan(1e-6);
    await plain.release();
  });

  test('q/k/v and gate/up stacked into one MatMul each give the same logits, with adapters of different ranks and targets', async () => {
    const stacked = await Decoder.fromFolder(await readModelFolder(join(FIXTURE, 'base')), { stackProjections: true });
    const perRow = [adapter('task_a'), null, adapter('task_c')];
    expect(
      maxAbsDiff(await forwardLogits(stacked, fx.inputIds, perRow), await forwardLogits(fx.decoder, fx.inputIds, perRow)),
    ).toBeLessThan(1e-5);
    await stacked.release();
  });

  test('four requests with different adapters decoded in one batch each match their reference', async () => {
    const results = await generate(
      fx.decoder,
      NAMES.map((name) => ({ prompt: fx.inputIds[0], adapter: adapter(name), maxTokens: 10 })),
    );
    results.forEach((res, i) => expect(res.tokens).toEqual(refGeneration(NAMES[i])));
  });

  test('continuous batching: more requests than rows, mixed lengths, same tokens as one at a time', async () => {
    const requests = [0, 1, 2, 0, 1, 2].map((r, i) => ({
      prompt: fx.inputIds[r].slice(0, 6 + i),
      adapter: adapter(NAMES[i % 4]),
      maxTokens: 3 + ((i * 5) % 7),
    }));
    const batched = await generate(fx.decoder, requests, { maxBatch: 2 });
    for (const [i, req] of requests.entries()) {
      const [alone] = await generate(fx.decoder, [req]);
      expect(batched[i].tokens).toEqual(alone.tokens);
      expect(batched[i].tokens.length).toBe(req.maxTokens);
    }
  });

  test('the KV cache follows what its rows hold: after a long request, a short one reads a short cache, and both decode as when alone', async () => {
    const batch = new RunningBatch(fx.decoder, 4);
    /** One request through the batch; returns its tokens and the cache positions read by each decode step after the first. */
    const serve = async (req: GenerationRequest) => {
      let tokens: number[] | null = null;
      batch.onFinish = (row) => (tokens = row.tokens);
      await batch.admit([newRow(req, 0)]);
      const read: number[] = [];
      for (;;) {
        await batch.decode();
        if (tokens) return { tokens, read };
        read.push(batch.cachePositions);
      }
    };
    const prompt = fx.inputIds[0];
    const long = { prompt: Array.from({ length: 100 }, (_, i) => prompt[i % prompt.length]), adapter: adapter('task_a'), maxTokens: 20 };
    const short = { prompt: prompt.slice(0, 6), adapter: null, maxTokens: 6 };
    const longServed = await serve(long);
    expect(Math.max(...longServed.read)).toBe(128);
    const shortServed = await serve(short);
    // A cache kept at the long request's 128 positions would be read in full by every one of these steps.
    expect(shortServed.read).toEqual([64, 64, 64, 64]);
    expect(batch.cachePositions).toBe(0);
    const [longAlone, shortAlone] = [(await generate(fx.decoder, [long]))[0], (await generate(fx.decoder, [short]))[0]];
    expect(longServed.tokens).toEqual(longAlone.tokens);
    expect(shortServed.tokens).toEqual(shortAlone.tokens);
  });

  test('a prefill in chunks of positions gives the same logits, tokens and embeddings as one in a single step', async () => {
    const logprobs: number[][][] = [[], []];
    const embeddings: Float32Array[] = [];
    const tokens: number[][][] = [[], []];
    for (const [k, chunk] of [undefined, 3].entries()) {
      const batch = new RunningBatch(fx.decoder, 4, chunk);
      batch.onFinish = (row) => {
        if (row.embedding) embeddings.push(row.embedding);
        else tokens[k][row.index] = row.tokens;
      };
      const request = (i: number, prompt: number[], name: string): GenerationRequest => ({
        prompt,
        adapter: adapter(name),
        maxTokens: 4,
        logprobs: { top: 5, onToken: (lp) => logprobs[k].push([i, lp.logprob, ...lp.top.map((t) => t.logprob)]) },
      });
      // Mixed lengths (one ends inside the first chunk), adapters, and an embedding row prefilled with them.
      await batch.admit([
        newRow(request(0, fx.inputIds[0], 'task_a'), 0),
        newRow(request(1, fx.inputIds[1].slice(0, 2), 'base'), 1),
        newRow({ prompt: fx.inputIds[2], adapter: null, maxTokens: 1, embedding: 'mean' }, 2),
        newRow(request(3, fx.inputIds[2].slice(0, 7), 'task_c'), 3),
      ]);
      while (batch.size > 0) await batch.decode();
    }
    expect(tokens[1]).toEqual(tokens[0]);
    expect(logprobs[1].map((l) => l[0])).toEqual(logprobs[0].map((l) => l[0]));
    expect(maxAbsDiff(Float32Array.from(logprobs[1].flat()), Float32Array.from(logprobs[0].flat()))).toBeLessThan(1e-5);
    expect(maxAbsDiff(embeddings[1], embeddings[0])).toBeLessThan(1e-5);
  });

  test('stop tokens end a generation and are reported as such', async () => {
    const want = refGeneration('task_a'); // 118, 83, 83, ...
    const [res] = await generate(fx.decoder, [{ prompt: fx.inputIds[0], adapter: adapter('task_a'), maxTokens: 10, stop: [83] }]);
    expect(res).toEqual({ tokens: want.slice(0, 2), finishReason: 'stop' });
  });

  test('temperature sampling is reproducible with a seed, and top_p near 0 is greedy', async () => {
    const req = { prompt: fx.inputIds[1], adapter: adapter('task_b'), maxTokens: 8, temperature: 1.5, seed: 7 };
    const [a] = await generate(fx.decoder, [req]);
    const [b] = await generate(fx.decoder, [req]);
    expect(a.tokens).toEqual(b.tokens);
    const [greedy] = await generate(fx.decoder, [{ ...req, temperature: 0 }]);
    const [nucleus] = await generate(fx.decoder, [{ ...req, topP: 1e-6 }]);
    expect(nucleus.tokens).toEqual(greedy.tokens);
  });

  test('bad generation requests get typed errors', async () => {
    const base = { prompt: fx.inputIds[0], adapter: null, maxTokens: 4 };
    await expect(generate(fx.decoder, [{ ...base, prompt: [] }])).rejects.toMatchObject({ code: 'empty_prompt' });
    await expect(generate(fx.decoder, [{ ...base, prompt: [1, 99999] }])).rejects.toMatchObject({ code: 'bad_token' });
    await expect(generate(fx.decoder, [{ ...base, maxTokens: 1000 }])).rejects.toMatchObject({ code: 'context_too_long' });
    await expect(generate(fx.decoder, [{ ...base, topP: 0 }])).rejects.toMatchObject({ code: 'bad_top_p' });
  });
});

describe('rankgate parity', () => {
  test('exits 0 on the fixture and reports every reference key, checked or unchecked', async () => {
    const { stdout } = await run(process.execPath, ['bin/rankgate.js', 'parity', FIXTURE], { cwd: `${import.meta.dirname}/../..` });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(report.ok).toBe(true);
    for (const name of NAMES) {
      expect(report.max_abs_diff[`logits.${name}`]).toBeLessThan(1e-4);
      expect(report.generate_match[`generate.${name}`]).toBe(true);
    }
    for (const key of ['logits.merge_cat', 'logits.merge_svd', 'logits.merge_linear_bc'])
      expect(report.max_abs_diff[key], key).toBeLessThan(1e-4);
    expect(report.unchecked).toEqual([]);
    const reported = new Set([
      ...Object.keys(report.max_abs_diff),
      ...Object.keys(report.generate_match),
      ...report.unchecked,
      ...Object.keys(report.loss_rel_diff),
      ...Object.keys(report.grad_rel_diff),
      ...Object.keys(report.adamw_max_abs_diff),
    ]);
    for (const key of fx.reference.keys()) if (key !== 'input_ids' && key !== 'labels') expect(reported.has(key), key).toBe(true);
  });
});
