import { beforeEach, describe, expect, inject, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { call, createTenant, expectError, expectJson } from './api.ts';
import { claim, heartbeat, taskCall, writeProducedAdapter } from './backend-client.ts';
import { fixtureAdapter, registerBase, store, uploadAdapter } from './fixtures.ts';

async function tenantWithAdapters() {
  const t = await createTenant();
  await registerBase(t.key);
  for (const task of ['task_a', 'task_b'] as const)
    expect((await uploadAdapter(t.key, 'tiny-llama', task, await fixtureAdapter(task))).status).toBe(200);
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
    expect((await expectError('/v1/merges', merge({ method: 'rmm_factor', adapters: ['task_a'] }), 400, 'invalid_field')).param).toBe(
      'adapters',
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

  it('is built by a backend, then served as one model and as each reverted task, and reverted into an adapter', async () => {
    const t = await tenantWithAdapters();
    const created = await expectJson(
      '/v1/merges',
      {
        key: t.key,
        body: {
          name: 'ab',
          base_model: 'tiny-llama',
          adapters: ['task_a', 'task_b'],
          method: 'rmm_factor',
          basis_size: 8,
          weights: [1, 0.5],
        },
      },
      201,
    );
    expect(created).toMatchObject({
      status: 'queued',
      model: null,
      members: [
        { name: 'task_a', weight: 1 },
        { name: 'task_b', weight: 0.5 },
      ],
    });
    await expectError(`/v1/merges/${created.id}/revert`, { key: t.key, body: { adapter: 'task_a' } }, 409, 'merge_not_ready');

    const spec = await claimTask('merge', created.id, 'merger');
    expect(spec).toMatchObject({
      kind: 'merge',
      method: 'rmm_factor',
      basis_size: 8,
      members: [
        { name: 'task_a', rank: 4, weight: 1 },
        { name: 'task_b', rank: 8, weight: 0.5 },
      ],
    });
    expect(await expectJson(`/internal/v1/tasks/merge/${created.id}`, { key: 'test-backend-secret' }, 200)).toMatchObject({
      kind: 'merge',
      id: created.id,
    });
    await store.put(`${spec.output_prefix}basis.safetensors`, new Uint8Array(16));
    expect((await taskCall('merge', created.id, 'complete', { backend_id: 'merger' })).status).toBe(200);
    const merged = await expectJson('/v1/merges/ab', { key: t.key }, 200);
    expect(merged).toMatchObject({ status: 'succeeded', model: 'tiny-llama:ab' });
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

    const revert = await expectJson(`/v1/merges/${created.id}/revert`, { key: t.key, body: { adapter: 'task_a' } }, 202);
    expect(revert).toMatchObject({ object: 'merge.revert', status: 'queued', adapter: 'task_a', name: 'ab-task_a' });
    const revertSpec = await claimTask('revert', revert.id, 'reverter');
    expect(revertSpec).toMatchObject({ merge: { id: created.id, storage_prefix: spec.output_prefix }, adapter: { name: 'task_a' } });
    await writeProducedAdapter(revertSpec.output_prefix, 'task_a');
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

  it('fails a merge whose backend reports done without writing anything', async () => {
    const t = await tenantWithAdapters();
    const created = await expectJson(
      '/v1/merges',
      { key: t.key, body: { name: 'empty', base_model: 'tiny-llama', adapters: ['task_a', 'task_b'], method: 'ties', density: 0.3 } },
      201,
    );
    await claimTask('merge', created.id, 'lazy');
    expect((await taskCall('merge', created.id, 'complete', { backend_id: 'lazy' })).status).toBe(422);
    expect(await expectJson(`/v1/merges/${created.id}`, { key: t.key }, 200)).toMatchObject({
      status: 'failed',
      error: { code: 'output_missing' },
    });
  });
});

describe('compressions', () => {
  it('validates the target, is done by a backend, and yields a ready adapter', async () => {
    const t = await tenantWithAdapters();
    await expectError('/v1/compressions', { key: t.key, body: { adapter: 'task_b', rank: 4, energy: 0.9 } }, 400, 'invalid_field');
    await expectError('/v1/compressions', { key: t.key, body: { adapter: 'task_b' } }, 400, 'invalid_field');
    expect(
      (await expectError('/v1/compressions', { key: t.key, body: { adapter: 'task_b', rank: 8 } }, 400, 'invalid_field')).message,
    ).toContain("not below the adapter's rank 8");
    expect(
      (await expectError('/v1/compressions', { key: t.key, body: { adapter: 'task_b', rank: 2, bits: 5 } }, 400, 'invalid_field')).param,
    ).toBe('bits');
    const job = await expectJson('/v1/compressions', { key: t.key, body: { adapter: 'task_b', rank: 4, bits: 4 } }, 202);
    expect(job).toMatchObject({ object: 'compression', status: 'queued', name: 'task_b-c4', rank: 4, bits: 4 });
    const spec = await claimTask('compression', job.id, 'compressor');
    expect(spec).toMatchObject({
      kind: 'compression',
      rank: 4,
      bits: 4,
      source: { name: 'task_b', rank: 8 },
      base_model: { name: 'tiny-llama' },
    });
    await writeProducedAdapter(spec.output_prefix, 'task_a');
    expect((await taskCall('compression', job.id, 'complete', { backend_id: 'compressor' })).status).toBe(200);
    const done = await expectJson(`/v1/compressions/${job.id}`, { key: t.key }, 200);
    expect(done.status).toBe('succeeded');
    expect(await expectJson(`/v1/adapters/${done.result_adapter_id}`, { key: t.key }, 200)).toMatchObject({
      name: 'task_b-c4',
      source: 'compression',
      rank: 4,
    });
    expect((await expectJson('/v1/compressions', { key: t.key }, 200)).data).toHaveLength(1);
  });
});
