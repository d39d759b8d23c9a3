import { beforeEach, describe, expect, inject, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { DEFAULT_QUANTIZATION_GROUP_SIZE } from '../../contracts/api/jobs.ts';
import { encodeSafetensors, type Tensor } from '../../contracts/formats/safetensors.ts';
import { REVERSIBLE_MERGE_METHODS } from '../../contracts/api/merge-methods.ts';
import { MERGE_MAX_ADAPTERS } from '../../edge/schemas/merges.ts';
import { call, createTenant, expectError, expectJson } from './api.ts';
import { claim, heartbeat, taskCall, tokenFor } from './backend-client.ts';
import { fixtureAdapter, publishArtifact, registerBase, store, uploadAdapter, type Task } from './fixtures.ts';

async function tenantWithAdapters(tasks: Task[] = ['task_a', 'task_b']) {
  const t = await createTenant();
  await registerBase(t.key);
  for (const task of tasks) expect((await uploadAdapter(t.key, 'tiny-llama', task, await fixtureAdapter(task))).status).toBe(200);
  return t;
}

/** Claims tasks of `kind` until it gets the one with `id` (other tests' tasks share the queue). */
async function claimTask(kind: string, id: string, backendId: string) {
  for (;;) {
    const task = await claim(backendId, [kind]);
    if (!task) throw new Error(`${kind} ${id} was not claimable`);
    if (task.id === id) return task;
  }
}

const publish = publishArtifact;

/** A fixture adapter published as the job's PEFT adapter artifact. */
async function publishAdapter(prefix: string, jobId: string, task: Task = 'task_a', tamper?: (m: any) => void) {
  const files = await fixtureAdapter(task);
  await publish(
    prefix,
    jobId,
    'peft_adapter',
    [
      ['adapter/adapter_model.safetensors', files.model],
      ['adapter/adapter_config.json', files.config],
    ],
    tamper,
  );
}

/** A small reversible basis whose manifest names `taskIds` (the edge checks names, basis size and tensors, not the algebra). */
async function publishBasis(
  prefix: string,
  jobId: string,
  taskIds: string[],
  basisSize: number,
  opts: { dropTensor?: boolean; floatBits?: 16; dtype?: 'F16' | 'F32' } = {},
) {
  const path = 'model.layers.0.self_attn.q_proj';
  const basis = {
    format: 'rankgate-reversible-merge',
    version: 1,
    construction: 'factor',
    base_model: 'tiny-llama',
    basis_size: basisSize,
    ...(opts.floatBits ? { float_bits: opts.floatBits } : {}),
    full_floats: 1,
    tasks: taskIds.map((name) => ({ name, paths: [path] })),
    modules: [{ layer: 0, projection: 'q_proj', path, out: 2, in: 2, parts: ['mean_b', 'mean_a'] }],
  };
  const tensor: Tensor =
    (opts.dtype ?? (opts.floatBits ? 'F16' : 'F32')) === 'F16'
      ? { dtype: 'F16', shape: [2, 2], data: new Uint16Array(4) }
      : { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) };
  const tensors: [string, Tensor][] = [[`${path}.mean_b`, tensor]];
  if (!opts.dropTensor) tensors.push([`${path}.mean_a`, tensor]);
  await publish(prefix, jobId, 'reversible_basis', [
    ['basis.safetensors', encodeSafetensors(tensors)],
    ['basis.json', new TextEncoder().encode(JSON.stringify(basis))],
  ]);
}

async function createMerge(key: string, body: Record<string, unknown>) {
  return expectJson('/v1/merges', { key, body: { base_model: 'tiny-llama', adapters: ['task_a', 'task_b'], ...body } }, 201);
}

describe('merges', () => {
  beforeEach(async () => {
    await env.DB.prepare('update backends set last_heartbeat_at = 0').run();
  });

  it('checks the parameters each method takes', async () => {
    const t = await tenantWithAdapters();
    const merge = (body: Record<string, unknown>) => ({
      key: t.key,
      body: { name: 'm', base_model: 'tiny-llama', adapters: ['task_a', 'task_b'], ...body },
    });
    expect((await expectError('/v1/merges', merge({ method: 'linear', density: 0.5 }), 400, 'invalid_field')).message).toContain(
      'density does not apply to method "linear"',
    );
    expect((await expectError('/v1/merges', merge({ method: 'ties', weights: [1] }), 400, 'invalid_field')).param).toBe('weights');
    // A reversible merge keeps every task as it is: weights are refused with why, not dropped.
    const weighted = await expectError('/v1/merges', merge({ method: 'rmm_shared', weights: [1, 0.5] }), 400, 'invalid_field');
    expect(weighted).toMatchObject({ param: 'weights' });
    expect(weighted.message).toContain('weights do not apply');
    expect((await expectError('/v1/merges', merge({ method: 'rmm_factor', adapters: ['task_a'] }), 400, 'invalid_field')).param).toBe(
      'adapters',
    );
    // float_bits is rmm_shared's alone, and 32 or 16.
    expect((await expectError('/v1/merges', merge({ method: 'rmm_factor', float_bits: 16 }), 400, 'invalid_field')).message).toContain(
      'float_bits does not apply to method "rmm_factor"',
    );
    expect((await expectError('/v1/merges', merge({ method: 'rmm_shared', float_bits: 8 }), 400, 'invalid_field')).param).toBe(
      'float_bits',
    );
    expect((await expectError('/v1/merges', merge({ method: 'bogus' }), 400, 'invalid_field')).param).toBe('method');
    expect((await expectError('/v1/merges', merge({ method: 'cat', adapters: ['task_a', 'nope'] }), 404, 'adapter_not_found')).param).toBe(
      'adapters.1',
    );
    expect((await expectError('/v1/merges', merge({ method: 'cat', name: 'task_a' }), 409, 'name_taken')).param).toBe('name');
    const a = await expectJson('/v1/adapters/task_a', { key: t.key }, 200);
    const twice = await expectError('/v1/merges', merge({ method: 'cat', adapters: ['task_a', 'task_b', a.id] }), 400, 'duplicate_adapter');
    expect(twice.param).toBe('adapters.2');
    expect(twice.message).toContain(`adapters.2 ("${a.id}") and adapters.0 ("task_a") are the same adapter`);
  });

  it('keeps rmm_shared float_bits with the merge and hands it to the backend', async () => {
    const t = await tenantWithAdapters();
    const created = await createMerge(t.key, { name: 'half', method: 'rmm_shared', basis_size: 1, float_bits: 16 });
    expect(created.params).toEqual({ basis_size: 1, float_bits: 16 });
    const spec = await claimTask('merge', created.id, 'merger');
    expect(spec).toMatchObject({ method: 'rmm_shared', basis_size: 1, params: { float_bits: 16 } });
    const ids = spec.members.map((m: any) => m.id);
    // Its parts are checked as F16 tensors: float32 ones are refused, and so is a manifest of another precision.
    await publishBasis(spec.output_prefix, created.id, ids, 1, { floatBits: 16, dtype: 'F32' });
    expect((await taskCall('merge', created.id, 'complete', { backend_id: 'merger' })).status).toBe(422);
    const refused = await expectJson('/v1/merges/half', { key: t.key }, 200);
    expect(refused.error).toMatchObject({ code: 'bad_artifact' });
    expect(refused.error.message).toContain('no 2-D F16 tensor');

    const again = await createMerge(t.key, { name: 'half2', method: 'rmm_shared', basis_size: 1, float_bits: 16 });
    const spec2 = await claimTask('merge', again.id, 'merger');
    await publishBasis(spec2.output_prefix, again.id, ids, 1);
    expect((await taskCall('merge', again.id, 'complete', { backend_id: 'merger' })).status).toBe(422);
    expect((await expectJson('/v1/merges/half2', { key: t.key }, 200)).error.message).toContain('float bits 32; the merge asked for 16');

    const good = await createMerge(t.key, { name: 'half3', method: 'rmm_shared', basis_size: 1, float_bits: 16 });
    const spec3 = await claimTask('merge', good.id, 'merger');
    await publishBasis(spec3.output_prefix, good.id, ids, 1, { floatBits: 16 });
    const tasks = spec3.members.map((m: any) => ({ adapter_id: m.id, name: m.name, relative_error: 0.04 }));
    const result = { tasks, storage_fraction: 0.33, rank: null };
    expect((await taskCall('merge', good.id, 'complete', { backend_id: 'merger', result })).status).toBe(200);
    expect(await expectJson('/v1/merges/half3', { key: t.key }, 200)).toMatchObject({ status: 'succeeded', result });
  });

  it('refuses parameters the merge could not be built with, before queueing it', async () => {
    const t = await tenantWithAdapters();
    const merge = (body: Record<string, unknown>) => ({
      key: t.key,
      body: { name: 'm', base_model: 'tiny-llama', adapters: ['task_a', 'task_b'], ...body },
    });
    const basis = await expectError('/v1/merges', merge({ method: 'rmm_factor', basis_size: 3 }), 400, 'invalid_field');
    expect(basis.param).toBe('basis_size');
    expect(basis.message).toContain('a basis of 3 tasks is larger than the 2 adapters merged; give at most 2');
    expect((await expectError('/v1/merges', merge({ method: 'rmm_delta', basis_size: 5 }), 400, 'invalid_field')).param).toBe('basis_size');
    // task_a has rank 4 and task_b rank 8: an svd merge has at most rank 12, and linear needs one rank.
    const svd = await expectError('/v1/merges', merge({ method: 'svd', basis_size: 13 }), 400, 'invalid_field');
    expect(svd.message).toContain('above the 12 the members');
    const linear = await expectError('/v1/merges', merge({ method: 'linear' }), 400, 'rank_mismatch');
    expect(linear).toMatchObject({ param: 'adapters.1' });
    expect(linear.message).toContain('use cat, svd or task_arithmetic');
    expect((await expectJson('/v1/merges', { key: t.key }, 200)).data).toEqual([]);
  });

  it('queues a merge of 32 adapters, the most it takes: more members than one D1 insert binds', async () => {
    const t = await createTenant();
    await registerBase(t.key);
    const files = await fixtureAdapter('task_a');
    const names = Array.from({ length: MERGE_MAX_ADAPTERS }, (_, i) => `m${i}`);
    const uploads = await Promise.all(names.map((name) => uploadAdapter(t.key, 'tiny-llama', name, files)));
    expect(uploads.map((r) => r.status)).toEqual(names.map(() => 200));
    const created = await createMerge(t.key, { name: 'all', method: 'task_arithmetic', adapters: names });
    expect(created.members.map((a: any) => a.name)).toEqual(names);
    expect((await expectJson(`/v1/merges/${created.id}`, { key: t.key }, 200)).members.map((a: any) => a.name)).toEqual(names);
  }, 60_000);

  it('is built by a backend, then served as one model and as each reverted task, and reverted into an adapter', async () => {
    const t = await tenantWithAdapters(['task_a', 'task_b', 'task_c']);
    const created = await createMerge(t.key, { name: 'ab', method: 'rmm_factor', basis_size: 2 });
    expect(created).toMatchObject({
      status: 'queued',
      model: null,
      result: null,
      params: { basis_size: 2 },
      members: [
        { name: 'task_a', weight: null },
        { name: 'task_b', weight: null },
      ],
    });
    await expectError(`/v1/merges/${created.id}/revert`, { key: t.key, body: { adapter: 'task_a' } }, 409, 'merge_not_ready');

    const spec = await claimTask('merge', created.id, 'merger');
    expect(spec).toMatchObject({
      kind: 'merge',
      method: 'rmm_factor',
      basis_size: 2,
      params: {},
      members: [
        { name: 'task_a', rank: 4, weight: null },
        { name: 'task_b', rank: 8, weight: null },
      ],
    });
    expect(await expectJson(`/internal/v1/tasks/merge/${created.id}`, { key: await tokenFor('merger') }, 200)).toMatchObject({
      kind: 'merge',
      id: created.id,
    });
    const ids = spec.members.map((m: any) => m.id);
    await publishBasis(spec.output_prefix, created.id, ids, 2);
    const result = {
      tasks: [
        { adapter_id: ids[0], name: 'task_a', relative_error: 1e-7 },
        { adapter_id: ids[1], name: 'task_b', relative_error: 2e-7 },
      ],
      storage_fraction: 1.2,
      rank: null,
    };
    expect((await taskCall('merge', created.id, 'complete', { backend_id: 'merger', result })).status).toBe(200);
    const merged = await expectJson('/v1/merges/ab', { key: t.key }, 200);
    expect(merged).toMatchObject({ status: 'succeeded', model: 'tiny-llama:ab', result });
    const models = (await expectJson('/v1/models', { key: t.key }, 200)).data.map((m: any) => m.id);
    expect(models).toEqual(expect.arrayContaining(['tiny-llama:ab', 'tiny-llama:ab/task_a', 'tiny-llama:ab/task_b']));

    await heartbeat('merge-server', inject('fakeBackends')[0]);
    const res = await call('/v1/chat/completions', {
      key: t.key,
      body: { model: 'tiny-llama:ab/task_b', messages: [{ role: 'user', content: 'x' }] },
    });
    expect(res.status).toBe(200);
    const log = (await (await fetch(`${inject('fakeBackends')[0]}/_log`)).json()) as any[];
    expect(log.at(-1).body.rankgate.target).toMatchObject({
      kind: 'merge_task',
      merge: { name: 'ab', method: 'rmm_factor' },
      adapter: { name: 'task_b' },
    });

    const outsider = await expectError(`/v1/merges/${created.id}/revert`, { key: t.key, body: { adapter: 'task_c' } }, 400, 'not_a_member');
    expect(outsider).toMatchObject({ param: 'adapter' });
    expect(outsider.message).toContain('"task_c" is not a member of merge "ab"');
    const revert = await expectJson(`/v1/merges/${created.id}/revert`, { key: t.key, body: { adapter: 'task_a' } }, 202);
    expect(revert).toMatchObject({ object: 'merge.revert', status: 'queued', adapter: 'task_a', name: 'ab-task_a' });
    const revertSpec = await claimTask('revert', revert.id, 'reverter');
    expect(revertSpec).toMatchObject({ merge: { id: created.id, storage_prefix: spec.output_prefix }, adapter: { name: 'task_a' } });
    await publishAdapter(revertSpec.output_prefix, revert.id, 'task_a');
    const withResult = await taskCall('revert', revert.id, 'complete', { backend_id: 'reverter', result });
    expect(withResult.status).toBe(400);
    expect((await taskCall('revert', revert.id, 'complete', { backend_id: 'reverter' })).status).toBe(200);
    const after = await expectJson(`/v1/merges/${created.id}`, { key: t.key }, 200);
    expect(after.reverts).toMatchObject([{ status: 'succeeded' }]);
    expect((await expectJson('/v1/merges', { key: t.key }, 200)).data).toEqual([after]);
    expect(await expectJson(`/v1/adapters/${after.reverts[0].result_adapter_id}`, { key: t.key }, 200)).toMatchObject({
      name: 'ab-task_a',
      status: 'ready',
      source: 'revert',
      source_id: created.id,
    });
  });

  it('a collapsed merge is checked as a PEFT adapter, reports its result, and has no task to revert', async () => {
    const t = await tenantWithAdapters();
    const created = await createMerge(t.key, { name: 'both', method: 'cat' });
    const spec = await claimTask('merge', created.id, 'catter');
    const ids = spec.members.map((m: any) => m.id);
    await publishAdapter(spec.output_prefix, created.id, 'task_b');
    const bad = await taskCall('merge', created.id, 'complete', {
      backend_id: 'catter',
      result: { tasks: [], storage_fraction: -1, rank: 1 },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.param).toContain('result');
    const result = {
      tasks: ids.map((id: string, i: number) => ({ adapter_id: id, name: ['task_a', 'task_b'][i], relative_error: 2.5 })),
      storage_fraction: 1,
      rank: 12,
    };
    expect((await taskCall('merge', created.id, 'complete', { backend_id: 'catter', result })).status).toBe(200);
    const done = await expectJson(`/v1/merges/${created.id}`, { key: t.key }, 200);
    expect(done).toMatchObject({ status: 'succeeded', model: 'tiny-llama:both', result });
    // Served under the merge's own name: no adapter row of that name competes for `tiny-llama:both`.
    expect((await expectJson('/v1/adapters', { key: t.key }, 200)).data.map((a: any) => a.name).sort()).toEqual(['task_a', 'task_b']);
    const revert = await expectError(
      `/v1/merges/${created.id}/revert`,
      { key: t.key, body: { adapter: 'task_a' } },
      400,
      'merge_not_reversible',
    );
    expect(revert.message).toContain('keeps no task to revert');
    // It names every method whose tasks can be reverted, as contracts list them.
    for (const method of REVERSIBLE_MERGE_METHODS) expect(revert.message).toContain(method);
    const call = await expectError(
      '/v1/completions',
      { key: t.key, body: { model: 'tiny-llama:both/task_a', prompt: 'x', max_tokens: 1 } },
      400,
      'merge_not_reversible',
    );
    for (const method of REVERSIBLE_MERGE_METHODS) expect(call.message).toContain(method);
  });

  it('fails a merge whose backend reports done without writing anything', async () => {
    const t = await tenantWithAdapters();
    const created = await createMerge(t.key, { name: 'empty', method: 'ties', density: 0.3 });
    await claimTask('merge', created.id, 'lazy');
    expect((await taskCall('merge', created.id, 'complete', { backend_id: 'lazy' })).status).toBe(422);
    expect(await expectJson(`/v1/merges/${created.id}`, { key: t.key }, 200)).toMatchObject({
      status: 'failed',
      error: { code: 'output_missing' },
    });
  });

  it('fails a merge whose artifact has no manifest (a backend that died half-way), or files that do not match it', async () => {
    const t = await tenantWithAdapters();
    const half = await createMerge(t.key, { name: 'half', method: 'cat' });
    const spec = await claimTask('merge', half.id, 'dying');
    const files = await fixtureAdapter('task_a');
    await store.put(`${spec.output_prefix}adapter/adapter_model.safetensors`, files.model);
    await store.put(`${spec.output_prefix}adapter/adapter_config.json`, files.config);
    expect((await taskCall('merge', half.id, 'complete', { backend_id: 'dying' })).status).toBe(422);
    const failed = await expectJson(`/v1/merges/${half.id}`, { key: t.key }, 200);
    expect(failed).toMatchObject({ status: 'failed', model: null, error: { code: 'output_missing' } });
    expect(failed.error.message).toContain('artifact.json');

    const swapped = await createMerge(t.key, { name: 'swapped', method: 'cat' });
    const spec2 = await claimTask('merge', swapped.id, 'swapper');
    await publishAdapter(spec2.output_prefix, swapped.id, 'task_a', (m) => {
      m.files[0].sha256 = '0'.repeat(64);
    });
    expect((await taskCall('merge', swapped.id, 'complete', { backend_id: 'swapper' })).status).toBe(422);
    expect((await expectJson(`/v1/merges/${swapped.id}`, { key: t.key }, 200)).error.code).toBe('output_incomplete');

    const wrongTasks = await createMerge(t.key, { name: 'wrong', method: 'rmm_delta' });
    const spec3 = await claimTask('merge', wrongTasks.id, 'confused');
    await publishBasis(spec3.output_prefix, wrongTasks.id, [spec3.members[0].id, 'adapter-other'], 2);
    expect((await taskCall('merge', wrongTasks.id, 'complete', { backend_id: 'confused' })).status).toBe(422);
    const wrong = await expectJson(`/v1/merges/${wrongTasks.id}`, { key: t.key }, 200);
    expect(wrong.error).toMatchObject({ code: 'bad_artifact' });
    expect(wrong.error.message).toContain("the merge's members are");

    const noTensor = await createMerge(t.key, { name: 'holes', method: 'rmm_factor' });
    const spec4 = await claimTask('merge', noTensor.id, 'holey');
    await publishBasis(
      spec4.output_prefix,
      noTensor.id,
      spec4.members.map((m: any) => m.id),
      2,
      { dropTensor: true },
    );
    expect((await taskCall('merge', noTensor.id, 'complete', { backend_id: 'holey' })).status).toBe(422);
    expect((await expectJson(`/v1/merges/${noTensor.id}`, { key: t.key }, 200)).error.message).toContain('mean_a');
  });
});

describe('compressions', () => {
  it('validates the target, is done by a backend, and yields a ready adapter with its result', async () => {
    const t = await tenantWithAdapters();
    await expectError('/v1/compressions', { key: t.key, body: { adapter: 'task_b', rank: 4, energy: 0.9 } }, 400, 'invalid_field');
    expect((await expectError('/v1/compressions', { key: t.key, body: { adapter: 'task_b' } }, 400, 'invalid_field')).message).toContain(
      'nothing to do',
    );
    expect(
      (await expectError('/v1/compressions', { key: t.key, body: { adapter: 'task_b', rank: 8 } }, 400, 'invalid_field')).message,
    ).toContain("not below the adapter's rank 8");
    expect(
      (await expectError('/v1/compressions', { key: t.key, body: { adapter: 'task_b', rank: 2, bits: 5 } }, 400, 'invalid_field')).param,
    ).toBe('bits');
    const twoBits = await expectError('/v1/compressions', { key: t.key, body: { adapter: 'task_b', bits: 2 } }, 400, 'invalid_field');
    expect(twoBits).toMatchObject({ param: 'bits' });
    expect(twoBits.message).toContain('int4 and int8');
    const job = await expectJson('/v1/compressions', { key: t.key, body: { adapter: 'task_b', rank: 4, bits: 4 } }, 202);
    expect(job).toMatchObject({ object: 'compression', status: 'queued', name: 'task_b-c4', rank: 4, bits: 4, result: null });
    const spec = await claimTask('compression', job.id, 'compressor');
    expect(spec).toMatchObject({
      kind: 'compression',
      rank: 4,
      bits: 4,
      source: { name: 'task_b', rank: 8 },
      base_model: { name: 'tiny-llama' },
    });
    await publishAdapter(spec.output_prefix, job.id, 'task_a');
    const result = {
      modules: [{ path: 'model.layers.0.self_attn.q_proj', from_rank: 8, rank: 4, relative_error: 0.1 }],
      relative_error: 0.1,
      bits: 4,
      bytes_before: 1000,
      bytes_after: 100,
      storage_ratio: 0.1,
    };
    expect((await taskCall('compression', job.id, 'complete', { backend_id: 'compressor', result })).status).toBe(200);
    const done = await expectJson(`/v1/compressions/${job.id}`, { key: t.key }, 200);
    expect(done).toMatchObject({ status: 'succeeded', result });
    expect(await expectJson(`/v1/adapters/${done.result_adapter_id}`, { key: t.key }, 200)).toMatchObject({
      name: 'task_b-c4',
      source: 'compression',
      rank: 4,
    });
    expect((await expectJson('/v1/compressions', { key: t.key }, 200)).data).toHaveLength(1);
    // Quantizing alone is a compression too.
    expect(await expectJson('/v1/compressions', { key: t.key, body: { adapter: 'task_a', bits: 8 } }, 202)).toMatchObject({
      name: 'task_a-c8',
      rank: null,
      bits: 8,
    });
  });
});

describe('quantizations', () => {
  it('quantizes a base once through the job machinery: validated, listed, fetched, claimed, checked and recorded', async () => {
    const t = await createTenant();
    const baseId = (await registerBase(t.key)).id as string;
    const path = `/v1/base-models/${baseId}/quantizations`;
    expect((await expectError(path, { key: t.key, body: { bits: 3 } }, 400, 'invalid_field')).param).toBe('bits');
    expect((await expectError(path, { key: t.key, body: { bits: 4, group_size: 48 } }, 400, 'invalid_field')).param).toBe('group_size');
    await expectError('/v1/base-models/nope/quantizations', { key: t.key, body: { bits: 4 } }, 404, 'base_model_not_found');

    const job = await expectJson(path, { key: t.key, body: { bits: 4 } }, 202);
    expect(job).toMatchObject({
      object: 'base_model.quantization',
      base_model_id: baseId,
      bits: 4,
      group_size: DEFAULT_QUANTIZATION_GROUP_SIZE,
      status: 'queued',
      result: null,
    });
    expect((await expectJson(path, { key: t.key }, 200)).data.map((q: any) => q.id)).toEqual([job.id]);
    const spec = await claimTask('quantization', job.id, 'quantizer');
    expect(spec).toMatchObject({
      kind: 'quantization',
      bits: 4,
      group_size: DEFAULT_QUANTIZATION_GROUP_SIZE,
      base_model: { name: 'tiny-llama' },
    });

    // Nothing published: the job fails with the reason.
    const missing = await taskCall('quantization', job.id, 'complete', { backend_id: 'quantizer' });
    expect(missing.status).toBe(422);
    expect(await expectJson(`${path}/${job.id}`, { key: t.key }, 200)).toMatchObject({
      status: 'failed',
      error: { code: 'output_missing' },
    });

    const again = await expectJson(path, { key: t.key, body: { bits: 4 } }, 202);
    const spec2 = await claimTask('quantization', again.id, 'quantizer');
    await publish(spec2.output_prefix, again.id, 'quantized_base', [['packed_weights.safetensors', encodeSafetensors([])]]);
    const result = { bits: 4, group_size: DEFAULT_QUANTIZATION_GROUP_SIZE, packed_bytes: 8 };
    expect((await taskCall('quantization', again.id, 'complete', { backend_id: 'quantizer', result })).status).toBe(200);
    expect(await expectJson(`${path}/${again.id}`, { key: t.key }, 200)).toMatchObject({ status: 'succeeded', result });
    await expectError(`${path}/quant_nope`, { key: t.key }, 404, 'quantization_not_found');
  });
});
