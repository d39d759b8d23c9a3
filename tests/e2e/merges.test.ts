/**
 * Merges, reverts and compressions end to end over real processes (s3rver, the edge in workerd, backends):
 * the fixture's three adapters uploaded, merged with `cat` into a PEFT adapter whose logits are PEFT's own merge
 * (reference.json / logits.merge_cat), kept as a reversible basis at p = n from which one task is reverted into
 * a standalone adapter that `rankgate parity` accepts in place of the original, and compressed to int8. A backend
 * killed half-way through publishing a merge leaves no artifact that looks done; another one finishes it.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_QUANTIZATION_GROUP_SIZE } from '../../contracts/api/jobs.ts';
import { ARTIFACT_MANIFEST, PACKED_WEIGHTS_FILE } from '../../contracts/formats/job-artifacts.ts';
import { decodeSafetensors, encodeSafetensors, numel, toFloat32 } from '../../contracts/formats/safetensors.ts';
import { MERGE_MAX_ADAPTERS } from '../../edge/schemas/merges.ts';
import { writePackedWeights } from '../../gpu-backend/engine/packed-weights.ts';
import { forwardLogits, LOGITS_TOLERANCE, loadFixture, maxAbsDiff, runParity, type Fixture } from '../../gpu-backend/cli/parity.ts';
import { examples, TASKS as SKILLS } from '../../gpu-backend/default-model/skills.ts';
import { rng, tokenLogprobs } from '../../gpu-backend/engine/sampling.ts';
import { Tokenizer } from '@huggingface/tokenizers';
import { tokenizerConfigJson, tokenizerJson } from '../../gpu-backend/default-model/tokenizer-files.ts';
import { openModelFolder, readAdapterFolder } from '../../gpu-backend/formats/files.ts';
import { TextTokenizer } from '../../gpu-backend/formats/tokenizer.ts';
import { TEST_DELAY_ENV } from '../../gpu-backend/worker/artifact-files.ts';
import {
  FIXTURE,
  fixtureTenant,
  startStack,
  uploadAdapterFiles,
  uploadFixtureAdapter,
  waitFor,
  type EdgeApi,
  type Stack,
  withStackLogs,
} from './stack.ts';

/** Short leases, so the killed backend's merge is claimable again within seconds. */
const LEASE_TTL_S = 6;
const TASKS = ['task_a', 'task_b', 'task_c'];

let stack: Stack;
let api: EdgeApi;
let fx: Fixture;
const ids: Record<string, string> = {};

beforeAll(async () => {
  stack = await startStack({ leaseTtlS: LEASE_TTL_S });
  api = await fixtureTenant(stack, 'merges');
  for (const task of TASKS) ids[task] = (await uploadFixtureAdapter(api, task, task)).id;
  fx = await loadFixture(FIXTURE);
});

afterAll(async () => {
  await stack?.stop();
});

const withLogs = <T>(run: () => Promise<T>) => withStackLogs(stack, run);

/** Polls `path` until the job there has finished. */
function finished(path: string, timeoutMs = 60_000): Promise<any> {
  return waitFor(
    `${path} to finish`,
    async () => {
      const job = await api.json(path);
      return job.status === 'succeeded' || job.status === 'failed' ? job : undefined;
    },
    timeoutMs,
  );
}

/** The files of a download answer, fetched into a new folder. */
async function downloadTo(download: { files: { filename: string; url: string }[] }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rankgate-download-'));
  for (const f of download.files) {
    const res = await fetch(f.url);
    expect(res.status).toBe(200);
    await writeFile(join(dir, f.filename), new Uint8Array(await res.arrayBuffer()));
  }
  return dir;
}

/** max |Δ| between the logits of the PEFT folder in `dir` and the fixture's `logits.<key>`. */
async function logitsDiff(dir: string, key: string): Promise<number> {
  const adapter = await readAdapterFolder(dir, fx.decoder.cfg);
  const got = await forwardLogits(
    fx.decoder,
    fx.inputIds,
    fx.inputIds.map(() => adapter),
  );
  return maxAbsDiff(got, toFloat32(fx.reference.get(`logits.${key}`)!));
}

const outputPrefix = (kind: string, id: string) =>
  waitFor(
    `the output prefix of ${id}`,
    async () => {
      const key = (await stack.edge.store.list('tenants/')).find((k) => k.includes(`/${kind}/${id}/`));
      return key?.slice(0, key.indexOf(`/${kind}/${id}/`) + `/${kind}/${id}/`.length);
    },
    30_000,
  );

describe('merges', () => {
  test('cat: the job publishes a PEFT adapter whose logits are PEFT’s merge_cat', () =>
    withLogs(async () => {
      const created = await api.json(
        '/v1/merges',
        { body: { name: 'abc', base_model: 'tiny-llama', adapters: TASKS, method: 'cat' } },
        201,
      );
      const done = await finished(`/v1/merges/${created.id}`);
      expect(done, JSON.stringify(done.error)).toMatchObject({ status: 'succeeded', model: 'tiny-llama:abc', result: { rank: 20 } });
      // Every module is padded to the one rank (20) PEFT's cat gives, so it stores more than the members do.
      expect(done.result.storage_fraction).toBeGreaterThan(1);
      expect(done.result.tasks.map((t: any) => t.name)).toEqual(TASKS);
      // A collapsed merge is the sum of the tasks: none of them exactly.
      for (const t of done.result.tasks) expect(t.relative_error).toBeGreaterThan(0.01);

      const download = await api.json(`/v1/merges/${created.id}/download`);
      expect(download).toMatchObject({ layout: 'peft_adapter' });
      const dir = await downloadTo(download);
      expect(await logitsDiff(dir, 'merge_cat')).toBeLessThanOrEqual(LOGITS_TOLERANCE);
      // Served as `tiny-llama:abc`, it gives that artifact's logits: the first token's top log-probabilities are
      // log-softmax of the local engine's logits with the downloaded adapter. The legacy shape keys alternatives by
      // token text, so tokens that decode alike share one entry, holding one of their values.
      const prompt = 'upper: red fox';
      const served = await api.json('/v1/completions', {
        body: { model: 'tiny-llama:abc', prompt, max_tokens: 1, temperature: 0, logprobs: 5 },
      });
      const top = Object.values(served.choices[0].logprobs.top_logprobs[0] as Record<string, number>);
      const ids = new TextTokenizer(new Tokenizer(tokenizerJson(), tokenizerConfigJson()), tokenizerConfigJson()).encode(prompt, true);
      const logits = await forwardLogits(fx.decoder, [ids], [await readAdapterFolder(dir, fx.decoder.cfg)]);
      const vocab = fx.decoder.cfg.vocabSize;
      const expected = tokenLogprobs(logits.subarray((ids.length - 1) * vocab, ids.length * vocab), 0, 5).top.map((t) => t.logprob);
      expect(top.length).toBeGreaterThanOrEqual(2);
      for (const v of top) expect(Math.min(...expected.map((e) => Math.abs(e - v)))).toBeLessThan(1e-4);
      await rm(dir, { recursive: true, force: true });
      // A merge is served under its own name; it registers no adapter.
      expect((await api.json('/v1/adapters')).data.filter((a: any) => a.source === 'merge')).toEqual([]);
    }));

  test('rmm_factor at p = n: every task rebuilt exactly, and one reverted into an adapter that passes parity', () =>
    withLogs(async () => {
      const created = await api.json(
        '/v1/merges',
        { body: { name: 'abc-rev', base_model: 'tiny-llama', adapters: TASKS, method: 'rmm_factor', basis_size: 3 } },
        201,
      );
      const done = await finished(`/v1/merges/${created.id}`);
      expect(done, JSON.stringify(done.error)).toMatchObject({ status: 'succeeded', result: { rank: null } });
      for (const t of done.result.tasks) expect(t.relative_error).toBeLessThan(1e-5);
      // Each task called through the merge, rebuilt on demand with no revert job: exactly its own adapter's tokens.
      const greedy = async (model: string) =>
        (await api.json('/v1/completions', { body: { model, prompt: 'upper: red fox', max_tokens: 12, temperature: 0 } })).choices[0].text;
      for (const task of TASKS) expect(await greedy(`tiny-llama:abc-rev/${task}`)).toBe(await greedy(`tiny-llama:${task}`));
      expect((await api.json(`/v1/merges/${created.id}/download`)).layout).toBe('reversible_basis');

      const revert = await api.json(
        `/v1/merges/${created.id}/revert`,
        { method: 'POST', body: { adapter: 'task_c', name: 'task_c-back' } },
        202,
      );
      const reverted = await waitFor(
        'the revert',
        async () => {
          const r = (await api.json(`/v1/merges/${created.id}`)).reverts.find((x: any) => x.id === revert.id);
          return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
        },
        60_000,
      );
      expect(reverted, JSON.stringify(reverted.error)).toMatchObject({ status: 'succeeded' });
      const adapter = await api.json(`/v1/adapters/${reverted.result_adapter_id}`);
      expect(adapter).toMatchObject({ name: 'task_c-back', status: 'ready', source: 'revert', source_id: created.id });

      // The fixture again, with the reverted adapter in place of task_c: `rankgate parity` checks its logits and
      // greedy tokens against PEFT's for task_c (and the cat merge, which now includes it).
      const copy = await mkdtemp(join(tmpdir(), 'rankgate-parity-'));
      await cp(FIXTURE, copy, { recursive: true });
      await rm(join(copy, 'adapters', 'task_c'), { recursive: true });
      const dir = await downloadTo(await api.json(`/v1/adapters/${adapter.id}/download`));
      await cp(dir, join(copy, 'adapters', 'task_c'), { recursive: true });
      const report = await runParity(copy);
      // Everything matches but PEFT's plain linear merge, which merges lora_A and lora_B separately and so
      // depends on how an adapter splits ΔW into B·A (the reverted task_c is the same ΔW, split otherwise).
      const { 'logits.merge_linear_bc': _splitDependent, ...logits } = report.max_abs_diff;
      expect(Object.keys(logits).sort()).toEqual([
        'logits.base',
        'logits.merge_cat',
        'logits.merge_svd',
        'logits.task_a',
        'logits.task_b',
        'logits.task_c',
      ]);
      for (const diff of Object.values(logits)) expect(diff).toBeLessThanOrEqual(LOGITS_TOLERANCE);
      expect(report.generate_match).toEqual({
        'generate.base': true,
        'generate.task_a': true,
        'generate.task_b': true,
        'generate.task_c': true,
      });
      expect(report.unchecked).toEqual([]);
      await rm(copy, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }));

  test('rmm_shared with float_bits 16: its float16 artifact passes the edge, and each task served through it gives its own adapter’s tokens', () =>
    withLogs(async () => {
      const created = await api.json(
        '/v1/merges',
        { body: { name: 'abc-half', base_model: 'tiny-llama', adapters: TASKS, method: 'rmm_shared', float_bits: 16 } },
        201,
      );
      const done = await finished(`/v1/merges/${created.id}`);
      expect(done, JSON.stringify(done.error)).toMatchObject({ status: 'succeeded', params: { float_bits: 16 } });
      // p = n in float16: each task to float16 rounding, not exactly.
      for (const t of done.result.tasks) expect(t.relative_error).toBeLessThan(2e-3);
      const greedy = async (model: string) =>
        (await api.json('/v1/completions', { body: { model, prompt: 'upper: red fox', max_tokens: 12, temperature: 0 } })).choices[0].text;
      for (const task of TASKS) expect(await greedy(`tiny-llama:abc-half/${task}`)).toBe(await greedy(`tiny-llama:${task}`));
    }));
});

describe('a merge of as many adapters as one takes', () => {
  test('succeeds, and serves each task as its own adapter does', () =>
    withLogs(async () => {
      const own = await fixtureTenant(stack, 'merges-max');
      // Random adapters shaped like the fixture's task_a: 32 distinct tasks at little cost.
      const config = await readFile(join(FIXTURE, 'adapters', 'task_a', 'adapter_config.json'));
      const { tensors } = decodeSafetensors(await readFile(join(FIXTURE, 'adapters', 'task_a', 'adapter_model.safetensors')));
      const names = Array.from({ length: MERGE_MAX_ADAPTERS }, (_, i) => `r${i}`);
      for (const [i, name] of names.entries()) {
        const random = rng(100 + i);
        const model = encodeSafetensors(
          [...tensors].map(([key, t]) => [
            key,
            { dtype: 'F32', shape: t.shape, data: Float32Array.from({ length: numel(t.shape) }, () => random() - 0.5) },
          ]),
        );
        await uploadAdapterFiles(own, name, { 'adapter_config.json': config, 'adapter_model.safetensors': model });
      }
      const created = await own.json(
        '/v1/merges',
        { body: { name: 'all', base_model: 'tiny-llama', adapters: names, method: 'rmm_factor' } },
        201,
      );
      const done = await waitFor(
        'the merge of 32',
        async () => {
          const job = await own.json(`/v1/merges/${created.id}`);
          return job.status === 'succeeded' || job.status === 'failed' ? job : undefined;
        },
        120_000,
      );
      expect(done, JSON.stringify(done.error)).toMatchObject({ status: 'succeeded', model: 'tiny-llama:all' });
      expect(done.result.tasks.map((t: any) => t.name)).toEqual(names);
      // p = n by default: every task is kept exactly, so through the merge it answers as its own adapter.
      for (const t of done.result.tasks) expect(t.relative_error).toBeLessThan(1e-5);
      const greedy = async (model: string) =>
        (await own.json('/v1/completions', { body: { model, prompt: 'upper: red fox', max_tokens: 6, temperature: 0 } })).choices[0].text;
      for (const name of [names[0], names[15], names[31]])
        expect(await greedy(`tiny-llama:all/${name}`)).toBe(await greedy(`tiny-llama:${name}`));
    }));
});

describe('compressions', () => {
  test('int8: a ready adapter with per-module error, ranks and bytes, that serves', () =>
    withLogs(async () => {
      const created = await api.json('/v1/compressions', { body: { adapter: 'task_b', bits: 8 } }, 202);
      const done = await finished(`/v1/compressions/${created.id}`);
      expect(done, JSON.stringify(done.error)).toMatchObject({ status: 'succeeded', name: 'task_b-c8', result: { bits: 8 } });
      const { result } = done;
      const source = await api.json('/v1/adapters/task_b');
      expect(result.modules.length).toBeGreaterThan(0);
      for (const m of result.modules) {
        expect(m).toMatchObject({ from_rank: 8, rank: 8 });
        expect(m.relative_error).toBeGreaterThan(0);
        expect(m.relative_error).toBeLessThan(0.02);
      }
      expect(result.bytes_after).toBeLessThan(result.bytes_before);
      expect(result.storage_ratio).toBeCloseTo(result.bytes_after / result.bytes_before, 9);
      const adapter = await api.json(`/v1/adapters/${done.result_adapter_id}`);
      expect(adapter).toMatchObject({ status: 'ready', source: 'compression', rank: 8, target_modules: source.target_modules });
      // The int8 factors themselves sit beside the float32 PEFT files.
      const prefix = await outputPrefix('compressions', created.id);
      expect(await stack.edge.store.head(`${prefix}adapter/adapter_model.quantized.safetensors`)).not.toBeNull();
      const out = await api.json('/v1/completions', {
        body: { model: adapter.model, prompt: 'reverse words: red fox\n', max_tokens: 8, temperature: 0 },
      });
      expect(out).toMatchObject({ object: 'text_completion', model: adapter.model });
    }));
});

describe('quantizations', () => {
  test("int4: the job stores the fixture's packed weights, bit for bit as quantizing in memory, and <base>@int4 serves them", () =>
    withLogs(async () => {
      const base = (await api.json('/v1/base-models')).data[0].id as string;
      const before = await api.fetch('/v1/completions', { body: { model: 'tiny-llama@int4:task_b', prompt: 'x', max_tokens: 2 } });
      expect(before.status).toBe(404);
      expect(((await before.json()) as any).error.code).toBe('quantized_weights_missing');
      const created = await api.json(`/v1/base-models/${base}/quantizations`, { body: { bits: 4 } }, 202);
      const done = await finished(`/v1/base-models/${base}/quantizations/${created.id}`);
      expect(done, JSON.stringify(done.error)).toMatchObject({
        status: 'succeeded',
        result: { bits: 4, group_size: DEFAULT_QUANTIZATION_GROUP_SIZE },
      });
      const stored = await stack.edge.store.getBytes(`${await outputPrefix('quantizations', created.id)}${PACKED_WEIGHTS_FILE}`);
      const local = await mkdtemp(join(tmpdir(), 'rankgate-packed-'));
      const folder = await openModelFolder(join(FIXTURE, 'base'));
      await writePackedWeights(folder.config, folder.weights, { bits: 4 }, join(local, PACKED_WEIGHTS_FILE));
      // Equal bytes: the served logits are those of quantizing in memory (tests/backend/packed-weights.test.ts).
      expect(Buffer.compare(Buffer.from(stored!), await readFile(join(local, PACKED_WEIGHTS_FILE)))).toBe(0);
      expect(done.result.packed_bytes).toBe(stored!.byteLength);
      await rm(local, { recursive: true });
      const out = await api.json('/v1/completions', {
        body: { model: 'tiny-llama@int4:task_b', prompt: 'reverse words: red fox\n', max_tokens: 4, temperature: 0 },
      });
      expect(out).toMatchObject({ object: 'text_completion', model: 'tiny-llama@int4:task_b', usage: { completion_tokens: 4 } });
    }));
});

describe('a job the backend cannot do', () => {
  test('fails with a message that says what to change', () =>
    withLogs(async () => {
      // Keeping rank 1 in each of task_b's modules takes more than 2048 bytes; only the backend knows the shapes.
      const created = await api.json('/v1/compressions', { body: { adapter: 'task_b', budget_bytes: 2048 } }, 202);
      const done = await finished(`/v1/compressions/${created.id}`);
      expect(done).toMatchObject({ status: 'failed', result: null, result_adapter_id: null, error: { code: 'bad_budget' } });
      expect(done.error.message).toMatch(
        /budget_bytes is 2048 but keeping rank 1 in each of the \d+ modules takes \d+ bytes; give at least \d+/,
      );
    }));
});

describe('a backend busy training', () => {
  test('still takes a merge at once, beside the training run', () =>
    withLogs(async () => {
      const form = new FormData();
      form.set('purpose', 'fine-tune');
      const lines = examples(SKILLS[1], 8, rng(2)).map((e) => JSON.stringify(e));
      form.set('file', new File([`${lines.join('\n')}\n`], 'train.jsonl'));
      const file = await api.json('/v1/files', { body: form }, 201);
      const long = await api.json(
        '/v1/fine_tuning/jobs',
        { body: { model: 'tiny-llama', training_file: file.id, hyperparameters: { n_epochs: 100, batch_size: 1 } } },
        201,
      );
      await waitFor(
        'the training run to start',
        async () => ((await api.json(`/v1/fine_tuning/jobs/${long.id}`)).status === 'running' ? true : undefined),
        30_000,
      );
      const created = await api.json(
        '/v1/merges',
        { body: { name: 'ab-beside', base_model: 'tiny-llama', adapters: TASKS, method: 'svd' } },
        201,
      );
      expect(await finished(`/v1/merges/${created.id}`)).toMatchObject({ status: 'succeeded', result: { rank: 8 } });
      expect((await api.json(`/v1/fine_tuning/jobs/${long.id}`)).status).toBe('running');
      await api.json(`/v1/fine_tuning/jobs/${long.id}/cancel`, { method: 'POST' });
    }));
});

describe('a backend killed half-way through a merge', () => {
  test('leaves no artifact that looks done, and another backend finishes it with the same output', () =>
    withLogs(async () => {
      // Only a slow backend claims: it waits before each file it writes (a test-only knob), so it can be killed mid-way.
      await stack.backend.stop();
      const slow = await stack.startBackend('e2e-slow', { [TEST_DELAY_ENV]: '2000' });
      stack.backend = slow;
      const created = await api.json(
        '/v1/merges',
        { body: { name: 'abc-again', base_model: 'tiny-llama', adapters: TASKS, method: 'cat' } },
        201,
      );
      const prefix = await outputPrefix('merges', created.id);
      await waitFor(
        'the first file of the merge',
        async () => ((await stack.edge.store.head(`${prefix}adapter/adapter_model.safetensors`)) ? true : undefined),
        30_000,
      );
      slow.child.kill('SIGKILL');
      expect(await stack.edge.store.head(prefix + ARTIFACT_MANIFEST)).toBeNull();
      expect(await api.json(`/v1/merges/${created.id}`)).toMatchObject({ status: 'running', model: null, result: null });
      const dead = await api.fetch(`/v1/merges/${created.id}/download`);
      expect(dead.status).toBe(409);
      await dead.body?.cancel();

      const rescuer = await stack.startBackend('e2e-rescuer');
      stack.backend = rescuer;
      const done = await finished(`/v1/merges/${created.id}`, 60_000);
      expect(done, JSON.stringify(done.error)).toMatchObject({ status: 'succeeded', model: 'tiny-llama:abc-again' });
      expect(rescuer.logs()).toContain(`claimed merge/${created.id} (attempt 2)`);
      expect(rescuer.logs()).toContain(`merge/${created.id} succeeded`);

      // The same files as the first cat merge of these adapters, listed once, and no adapter row.
      const manifest = JSON.parse((await stack.edge.store.getText(prefix + ARTIFACT_MANIFEST))!);
      const first = (await api.json('/v1/merges/abc')).id;
      const firstPrefix = prefix.replace(created.id, first);
      const firstManifest = JSON.parse((await stack.edge.store.getText(firstPrefix + ARTIFACT_MANIFEST))!);
      expect(manifest.files).toEqual(firstManifest.files);
      expect((await api.json('/v1/merges')).data.filter((m: any) => m.name === 'abc-again')).toHaveLength(1);
      expect((await api.json('/v1/adapters')).data.filter((a: any) => a.source === 'merge')).toEqual([]);
      const dir = await downloadTo(await api.json(`/v1/merges/${created.id}/download`));
      expect(await logitsDiff(dir, 'merge_cat')).toBeLessThanOrEqual(LOGITS_TOLERANCE);
      await rm(dir, { recursive: true, force: true });
    }));
});
