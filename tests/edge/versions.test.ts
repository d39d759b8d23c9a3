/**
 * Adapter versions: an upload (or a fine-tuning job's suffix) to an existing name makes its next version, the bare
 * name serves the current one, `name@v<n>` pins one anywhere an adapter is named, and a promote repoints the name.
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { call, createTenant, expectError, expectJson } from './api.ts';
import { claim, heartbeat, taskCall, writeProducedAdapter } from './backend-client.ts';
import { fixtureAdapter, putFile, registerBase, startUpload, type Task, uploadAdapter } from './fixtures.ts';

const urls = inject('fakeBackends');
const ROUTED = ['vs-0', 'vs-1'];

async function upload(key: string, name: string, task: Task) {
  const res = await uploadAdapter(key, 'tiny-llama', name, await fixtureAdapter(task));
  expect(res.status).toBe(200);
  return (await res.json()) as any;
}

/** A tenant with `style` at two versions (v1 from task_a, v2 from task_b) and task_c beside it. */
async function setup() {
  const t = await createTenant();
  await registerBase(t.key);
  const v1 = await upload(t.key, 'style', 'task_a');
  const v2 = await upload(t.key, 'style', 'task_b');
  const other = await upload(t.key, 'task_c', 'task_c');
  return { ...t, v1, v2, other };
}

/** The adapter id the edge told a backend to load for `model`. */
async function routedAdapter(key: string, tenantId: string, model: string, extra: Record<string, unknown> = {}) {
  const res = await call('/v1/chat/completions', { key, body: { model, messages: [{ role: 'user', content: 'hi' }], ...extra } });
  expect(res.status).toBe(200);
  const url = urls[ROUTED.indexOf(res.headers.get('x-rankgate-backend')!)];
  const log = (await (await fetch(`${url}/_log`)).json()) as { body: any }[];
  const target = log.filter((r) => r.body?.rankgate?.tenant_id === tenantId).at(-1)!.body.rankgate.target;
  return target.kind === 'mix' ? target.mix.map((m: any) => m.id) : target.adapter.id;
}

describe('adapter versions', () => {
  beforeEach(async () => {
    await env.DB.prepare('update backends set last_heartbeat_at = 0').run();
    for (const [i, id] of ROUTED.entries()) await heartbeat(id, urls[i]);
  });

  it('makes an upload to an existing name its next version, which the name serves once committed', async () => {
    const t = await createTenant();
    await registerBase(t.key);
    const v1 = await upload(t.key, 'style', 'task_a');
    expect(v1).toMatchObject({ name: 'style', version: 1, current: true, model: 'tiny-llama:style' });
    // While version 2 is uploading, the name still serves version 1.
    const files = await fixtureAdapter('task_b');
    const created = await startUpload(t.key, 'tiny-llama', 'style', files);
    expect(created.adapter).toMatchObject({ version: 2, current: false, status: 'uploading', model: null });
    expect(await expectJson('/v1/adapters/style', { key: t.key }, 200)).toMatchObject({ id: v1.id, version: 1 });
    await putFile(t.key, created, 'adapter_config.json', files.config);
    await putFile(t.key, created, 'adapter_model.safetensors', files.model);
    const v2 = await expectJson(`/v1/adapters/${created.adapter.id}/commit`, { key: t.key, method: 'POST' }, 200);
    expect(v2).toMatchObject({ version: 2, current: true, rank: 8, model: 'tiny-llama:style' });
    expect(await expectJson('/v1/adapters/style', { key: t.key }, 200)).toMatchObject({ id: v2.id });
    expect(await expectJson('/v1/adapters/style@v1', { key: t.key }, 200)).toMatchObject({
      id: v1.id,
      current: false,
      model: 'tiny-llama:style@v1',
    });
    const versions = await expectJson('/v1/adapters/style/versions', { key: t.key }, 200);
    expect(versions.data.map((v: any) => [v.version, v.current])).toEqual([
      [2, true],
      [1, false],
    ]);
    // The list shows each name once; the models list every version that can be called.
    expect((await expectJson('/v1/adapters', { key: t.key }, 200)).data.map((a: any) => a.id)).toEqual([v2.id]);
    const models = (await expectJson('/v1/models', { key: t.key }, 200)).data.map((m: any) => m.id);
    expect(models).toEqual(['tiny-llama', 'tiny-llama:style', 'tiny-llama:style@v1']);
  });

  it('serves the current version by name and a pinned one by name@v<n>, in completions and mixes', async () => {
    const t = await setup();
    expect(await routedAdapter(t.key, t.id, 'tiny-llama:style')).toBe(t.v2.id);
    expect(await routedAdapter(t.key, t.id, 'tiny-llama:style@v1')).toBe(t.v1.id);
    // A pinned version on a quantized base resolves the version first, then wants that base's stored weights.
    await expectError(
      '/v1/completions',
      { key: t.key, body: { model: 'tiny-llama@int8:style@v2', prompt: 'x' } },
      404,
      'quantized_weights_missing',
    );
    const mix = [
      { name: 'style@v1', weight: 0.5 },
      { name: 'style', weight: 0.5 },
    ];
    expect(await routedAdapter(t.key, t.id, 'tiny-llama', { adapters: mix })).toEqual([t.v1.id, t.v2.id]);
    const missing = await expectError(
      '/v1/completions',
      { key: t.key, body: { model: 'tiny-llama:style@v3', prompt: 'x' } },
      404,
      'model_not_found',
    );
    expect(missing.message).toContain('style@v3');
    const bad = await expectError(
      '/v1/completions',
      { key: t.key, body: { model: 'tiny-llama:style@latest', prompt: 'x' } },
      400,
      'invalid_adapter_version',
    );
    expect(bad.message).toContain('"style@v1"');
  });

  it('promotes a version: the name serves it from then on, and a version not ready is refused', async () => {
    const t = await setup();
    const promoted = await expectJson('/v1/adapters/style/versions/1/promote', { key: t.key, method: 'POST' }, 200);
    expect(promoted).toMatchObject({ id: t.v1.id, version: 1, current: true, model: 'tiny-llama:style' });
    expect(await routedAdapter(t.key, t.id, 'tiny-llama:style')).toBe(t.v1.id);
    expect(await routedAdapter(t.key, t.id, 'tiny-llama:style@v2')).toBe(t.v2.id);
    expect((await expectJson('/v1/adapters/style/versions', { key: t.key }, 200)).data.map((v: any) => v.current)).toEqual([false, true]);
    // By the id of any version, and "v2" as well as "2"; promoting back is a roll forward.
    expect(await expectJson(`/v1/adapters/${t.v1.id}/versions/v2/promote`, { key: t.key, method: 'POST' }, 200)).toMatchObject({
      id: t.v2.id,
      current: true,
    });
    expect(await routedAdapter(t.key, t.id, 'tiny-llama:style')).toBe(t.v2.id);
    await expectError('/v1/adapters/style/versions/7/promote', { key: t.key, method: 'POST' }, 404, 'adapter_not_found');
    await expectError('/v1/adapters/style/versions/latest/promote', { key: t.key, method: 'POST' }, 400);
    await startUpload(t.key, 'tiny-llama', 'style', await fixtureAdapter('task_a'));
    const notReady = await expectError('/v1/adapters/style/versions/3/promote', { key: t.key, method: 'POST' }, 409, 'adapter_not_ready');
    expect(notReady.message).toContain('uploading');
    // Another tenant's adapter is no one's to promote.
    const stranger = await createTenant();
    await expectError('/v1/adapters/style/versions/1/promote', { key: stranger.key, method: 'POST' }, 404, 'adapter_not_found');
  });

  it('keeps a name to one base model and away from merge names', async () => {
    const t = await setup();
    await registerBase(t.key, 'tiny-llama-2');
    const files = [
      { filename: 'adapter_config.json', bytes: 10 },
      { filename: 'adapter_model.safetensors', bytes: 10 },
    ];
    const other = await expectError(
      '/v1/adapters',
      { key: t.key, body: { name: 'style', base_model: 'tiny-llama-2', files } },
      409,
      'name_taken',
    );
    expect(other).toMatchObject({ param: 'name' });
    expect(other.message).toContain('another base model');
    await expectJson(
      '/v1/merges',
      { key: t.key, body: { name: 'm', base_model: 'tiny-llama', adapters: ['style', 'task_c'], method: 'cat' } },
      201,
    );
    await expectError('/v1/adapters', { key: t.key, body: { name: 'm', base_model: 'tiny-llama', files } }, 409, 'name_taken');
  });

  it('records the versions a merge was built from, and reverts the member it holds after the name moved', async () => {
    const t = await setup();
    const merge = await expectJson(
      '/v1/merges',
      { key: t.key, body: { name: 'both', base_model: 'tiny-llama', adapters: ['style@v1', 'task_c'], method: 'rmm_shared' } },
      201,
    );
    expect(merge.members).toMatchObject([
      { adapter_id: t.v1.id, name: 'style', version: 1, model: 'tiny-llama:style@v1' },
      { adapter_id: t.other.id, name: 'task_c', version: 1 },
    ]);
    // The name serves version 2; the merge keeps version 1 and says so.
    expect((await expectJson('/v1/merges/both', { key: t.key }, 200)).members[0]).toMatchObject({ adapter_id: t.v1.id, version: 1 });
    // No backend builds merges here: mark it succeeded, as a backend's completion would, to revert through it.
    await env.DB.prepare("update merges set status = 'succeeded' where name = 'both'").run();
    const revert = await expectJson('/v1/merges/both/revert', { key: t.key, body: { adapter: 'style' } }, 202);
    expect(revert).toMatchObject({ adapter: 'style' });
    const [row] = (await env.DB.prepare('select adapter_id from merge_reverts where id = ?').bind(revert.id).all()).results as any[];
    expect(row.adapter_id).toBe(t.v1.id);
    // A version a merge holds cannot be deleted out from under it.
    await expectError('/v1/adapters/style@v1', { key: t.key, method: 'DELETE' }, 409, 'adapter_in_use');
  });

  it('repoints the name to its newest ready version left when the current one is deleted', async () => {
    const t = await setup();
    await upload(t.key, 'style', 'task_c');
    await expectJson('/v1/adapters/style', { key: t.key, method: 'DELETE' }, 200);
    expect(await expectJson('/v1/adapters/style', { key: t.key }, 200)).toMatchObject({ id: t.v2.id, current: true });
    await expectJson('/v1/adapters/style@v1', { key: t.key, method: 'DELETE' }, 200);
    expect(await expectJson('/v1/adapters/style', { key: t.key }, 200)).toMatchObject({ id: t.v2.id, current: true });
    await expectJson('/v1/adapters/style', { key: t.key, method: 'DELETE' }, 200);
    await expectError('/v1/adapters/style', { key: t.key }, 404, 'adapter_not_found');
    // A name with no version left starts again at version 1.
    expect(await upload(t.key, 'style', 'task_a')).toMatchObject({ version: 1, current: true });
  });

  it("trains the next version of an adapter when a job's suffix is its name", async () => {
    const t = await setup();
    const form = new FormData();
    form.set('purpose', 'fine-tune');
    form.set('file', new File(['{"prompt": "2+2=", "completion": " 4"}'], 'train.jsonl'));
    const file = await expectJson('/v1/files', { key: t.key, body: form }, 201);
    const job = await expectJson(
      '/v1/fine_tuning/jobs',
      { key: t.key, body: { model: 'tiny-llama', training_file: file.id, suffix: 'style' } },
      201,
    );
    for (;;) {
      const task = await claim('vs-trainer', ['fine_tuning']);
      if (!task) throw new Error(`fine_tuning ${job.id} was not claimable`);
      if (task.id !== job.id) continue;
      await writeProducedAdapter(task.output_prefix);
      break;
    }
    expect((await taskCall('fine_tuning', job.id, 'complete', { backend_id: 'vs-trainer' })).status).toBe(200);
    const done = await expectJson(`/v1/fine_tuning/jobs/${job.id}`, { key: t.key }, 200);
    expect(done).toMatchObject({ status: 'succeeded', fine_tuned_model: 'tiny-llama:style' });
    expect(await expectJson('/v1/adapters/style', { key: t.key }, 200)).toMatchObject({
      id: done.adapter_id,
      version: 3,
      current: true,
      source: 'training',
    });
    expect(await routedAdapter(t.key, t.id, 'tiny-llama:style')).toBe(done.adapter_id);
    expect(await routedAdapter(t.key, t.id, 'tiny-llama:style@v2')).toBe(t.v2.id);
  });
});
