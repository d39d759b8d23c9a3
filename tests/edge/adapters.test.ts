import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../edge/index.ts';
import { createTenant, expectError, expectJson, call } from './api.ts';
import {
  TINY_LLAMA_PREFIX,
  fixtureAdapter,
  putFile,
  registerBase,
  sha256Hex,
  startUpload,
  store,
  uploadAdapter,
  type Task,
} from './fixtures.ts';

describe('adapter uploads', () => {
  it.each([
    ['task_a', 'presigned', 4, ['q_proj', 'v_proj']],
    ['task_b', 'edge', 8, ['q_proj', 'k_proj', 'v_proj', 'o_proj']],
    ['task_c', 'presigned', 8, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']],
  ] as const)('commits the fixture %s (uploaded %s) as ready against tiny-llama', async (task, via, rank, targets) => {
    const t = await createTenant();
    await registerBase(t.key);
    const files = await fixtureAdapter(task as Task);
    const res = await uploadAdapter(t.key, 'tiny-llama', task, files, { via, withSha: true });
    const adapter = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(adapter).toMatchObject({
      status: 'ready',
      rank,
      model: `tiny-llama:${task}`,
      sha256: await sha256Hex(files.model),
      source: 'upload',
    });
    expect([...adapter.target_modules].sort()).toEqual([...targets].sort());
    // Downloads give back exactly what was uploaded.
    const dl = await expectJson(`/v1/adapters/${adapter.id}/download`, { key: t.key }, 200);
    const model = dl.files.find((f: any) => f.filename === 'adapter_model.safetensors');
    expect(new Uint8Array(await (await fetch(model.url)).arrayBuffer())).toEqual(files.model);
  });

  it('rejects an adapter made for another shape of model, with the reason', async () => {
    const t = await createTenant();
    // A base model like tiny-llama but twice as wide: task_a's q_proj factors no longer fit.
    const config = JSON.parse((await store.getText(`${TINY_LLAMA_PREFIX}config.json`))!);
    const prefix = `models/wide-llama-${t.id}/`;
    await store.put(`${prefix}config.json`, JSON.stringify({ ...config, hidden_size: 128 }));
    await store.copy(`${TINY_LLAMA_PREFIX}model.safetensors`, `${prefix}model.safetensors`);
    await registerBase(t.key, 'wide-llama', prefix);
    const res = await uploadAdapter(t.key, 'wide-llama', 'a-on-wide', await fixtureAdapter('task_a'));
    expect(res.status).toBe(422);
    const { error } = (await res.json()) as any;
    expect(error.code).toBe('adapter_shape_mismatch');
    expect(error.message).toMatch(/has shape \[4,64\] but this base model needs \[4,128\]/);
    const adapter = await expectJson('/v1/adapters/a-on-wide', { key: t.key }, 200);
    expect(adapter).toMatchObject({ status: 'rejected', model: null, rejection: { code: 'adapter_shape_mismatch' } });
  });

  it('never makes a half-finished upload ready', async () => {
    const t = await createTenant();
    await registerBase(t.key);
    const files = await fixtureAdapter('task_a');
    const created = await startUpload(t.key, 'tiny-llama', 'half', files);
    await putFile(t.key, created, 'adapter_config.json', files.config);
    const error = await expectError(`/v1/adapters/${created.adapter.id}/commit`, { key: t.key, method: 'POST' }, 409, 'upload_incomplete');
    expect(error.message).toContain('adapter_model.safetensors is not uploaded yet');
    expect(await expectJson(`/v1/adapters/${created.adapter.id}`, { key: t.key }, 200)).toMatchObject({ status: 'uploading', model: null });
    await expectError(`/v1/adapters/${created.adapter.id}/download`, { key: t.key }, 409, 'adapter_not_ready');
    const models = await expectJson('/v1/models', { key: t.key }, 200);
    expect(models.data.map((m: any) => m.id)).toEqual(['tiny-llama']);
    // Finishing the upload then commits it.
    await putFile(t.key, created, 'adapter_model.safetensors', files.model);
    expect(await expectJson(`/v1/adapters/${created.adapter.id}/commit`, { key: t.key, method: 'POST' }, 200)).toMatchObject({
      status: 'ready',
    });
  });

  it.each([
    [
      'a flipped weight byte against the declared SHA-256',
      'upload_checksum_mismatch',
      (m: Uint8Array) => {
        m[m.length - 1] ^= 1;
      },
      true,
    ],
    [
      'a header that no longer describes the data',
      'safetensors_size_mismatch',
      (m: Uint8Array) => replaceAscii(m, '[4,64]', '[4,65]'),
      false,
    ],
    [
      'a NaN weight',
      'adapter_not_finite',
      (m: Uint8Array) => new DataView(m.buffer, m.byteOffset).setUint32(m.length - 4, 0x7fc00000, true),
      false,
    ],
  ] as const)('rejects a tampered upload: %s', async (_what, code, tamper, withSha) => {
    const t = await createTenant();
    await registerBase(t.key);
    const files = await fixtureAdapter('task_a');
    const tampered = { config: files.config, model: files.model.slice() };
    tamper(tampered.model);
    const created = await startUpload(t.key, 'tiny-llama', 'tampered', files, { withSha });
    await putFile(t.key, created, 'adapter_config.json', tampered.config);
    await putFile(t.key, created, 'adapter_model.safetensors', tampered.model);
    await expectError(`/v1/adapters/${created.adapter.id}/commit`, { key: t.key, method: 'POST' }, 422, code);
    expect(await expectJson(`/v1/adapters/${created.adapter.id}`, { key: t.key }, 200)).toMatchObject({
      status: 'rejected',
      rejection: { code },
    });
    await expectError(`/v1/adapters/${created.adapter.id}/commit`, { key: t.key, method: 'POST' }, 409, 'adapter_rejected');
  });

  it('keeps serving the committed files when an upload URL is reused after the commit', async () => {
    const t = await createTenant();
    await registerBase(t.key);
    const files = await fixtureAdapter('task_a');
    const created = await startUpload(t.key, 'tiny-llama', 'stable', files);
    await putFile(t.key, created, 'adapter_config.json', files.config);
    await putFile(t.key, created, 'adapter_model.safetensors', files.model);
    await expectJson(`/v1/adapters/${created.adapter.id}/commit`, { key: t.key, method: 'POST' }, 200);
    const evil = files.model.slice();
    evil[evil.length - 1] ^= 0xff;
    await putFile(t.key, created, 'adapter_model.safetensors', evil);
    const dl = await expectJson(`/v1/adapters/${created.adapter.id}/download`, { key: t.key }, 200);
    const model = dl.files.find((f: any) => f.filename === 'adapter_model.safetensors');
    expect(new Uint8Array(await (await fetch(model.url)).arrayBuffer())).toEqual(files.model);
    await expectError(
      `/v1/adapters/${created.adapter.id}/files/adapter_model.safetensors`,
      { key: t.key, method: 'PUT', body: evil, headers: { 'content-length': String(evil.length) } },
      409,
      'adapter_not_uploading',
    );
  });

  it('refuses edge uploads of another size than declared, and unknown file names', async () => {
    const t = await createTenant();
    await registerBase(t.key);
    const files = await fixtureAdapter('task_a');
    const created = await startUpload(t.key, 'tiny-llama', 'sizes', files);
    const id = created.adapter.id;
    const short = files.config.slice(0, 10);
    await expectError(
      `/v1/adapters/${id}/files/adapter_config.json`,
      { key: t.key, method: 'PUT', body: short, headers: { 'content-length': '10' } },
      400,
      'upload_size_mismatch',
    );
    await expectError(
      `/v1/adapters/${id}/files/weights.bin`,
      { key: t.key, method: 'PUT', body: short, headers: { 'content-length': '10' } },
      400,
      'invalid_field',
    );
  });

  it('refuses at commit a file a presigned PUT left short, and leaves nothing of the upload in the bucket', async () => {
    const t = await createTenant();
    await registerBase(t.key);
    const files = await fixtureAdapter('task_a');
    const created = await startUpload(t.key, 'tiny-llama', 'cut-short', files);
    await putFile(t.key, created, 'adapter_config.json', files.config);
    // What s3rver keeps of a PUT whose connection closed early: the bytes that arrived (R2 and S3 keep nothing).
    const prefix = `tenants/${t.id}/adapters/${created.adapter.id}/`;
    await store.put(`${prefix}upload/adapter_model.safetensors`, files.model.slice(0, 1000));
    const refused = await expectError(
      `/v1/adapters/${created.adapter.id}/commit`,
      { key: t.key, method: 'POST' },
      422,
      'upload_size_mismatch',
    );
    expect(refused.message).toContain(`holds 1000 bytes but ${files.model.byteLength} were declared`);
    expect(await store.list(prefix)).toEqual([]);
    expect(await expectJson(`/v1/adapters/${created.adapter.id}`, { key: t.key }, 200)).toMatchObject({ status: 'rejected' });
  });

  it('expires an upload never committed in time: the sweep rejects it and deletes what a cut-short PUT left', async () => {
    const t = await createTenant();
    await registerBase(t.key);
    const files = await fixtureAdapter('task_a');
    const upload = async (name: string) => {
      const created = await startUpload(t.key, 'tiny-llama', name, files);
      await putFile(t.key, created, 'adapter_config.json', files.config);
      const prefix = `tenants/${t.id}/adapters/${created.adapter.id}/`;
      await store.put(`${prefix}upload/adapter_model.safetensors`, files.model.slice(0, 1000));
      // Its URLs have run out.
      await env.DB.prepare('update adapters set upload_expires_at = ? where id = ?')
        .bind(Math.floor(Date.now() / 1000) - 1, created.adapter.id)
        .run();
      return { id: created.adapter.id as string, prefix };
    };

    const abandoned = await upload('abandoned');
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController(), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await store.list(abandoned.prefix)).toEqual([]);
    const swept = await expectJson(`/v1/adapters/${abandoned.id}`, { key: t.key }, 200);
    expect(swept).toMatchObject({ status: 'rejected', rejection: { code: 'upload_expired' } });

    // A commit (or an edge PUT) that comes late finds the same: refused, nothing left behind.
    const late = await upload('late');
    await expectError(
      `/v1/adapters/${late.id}/files/adapter_model.safetensors`,
      { key: t.key, method: 'PUT', body: files.model, headers: { 'content-length': String(files.model.byteLength) } },
      409,
      'upload_expired',
    );
    const lateCommit = await upload('late-commit');
    const refused = await expectError(`/v1/adapters/${lateCommit.id}/commit`, { key: t.key, method: 'POST' }, 409, 'upload_expired');
    expect(refused.message).toContain('Create a new adapter');
    for (const { prefix } of [late, lateCommit]) expect(await store.list(prefix)).toEqual([]);
  });

  it('lists with a cursor and deletes', async () => {
    const t = await createTenant();
    await registerBase(t.key);
    const files = await fixtureAdapter('task_a');
    for (const name of ['one', 'two', 'three']) expect((await uploadAdapter(t.key, 'tiny-llama', name, files)).status).toBe(200);
    const first = await expectJson('/v1/adapters?limit=2', { key: t.key }, 200);
    expect(first.data.map((a: any) => a.name)).toEqual(['three', 'two']);
    expect(first.has_more).toBe(true);
    const second = await expectJson(`/v1/adapters?limit=2&after=${first.last_id}`, { key: t.key }, 200);
    expect(second.data.map((a: any) => a.name)).toEqual(['one']);
    expect(second.has_more).toBe(false);
    await expectJson('/v1/adapters/two', { key: t.key, method: 'DELETE' }, 200);
    await expectError('/v1/adapters/two', { key: t.key }, 404, 'adapter_not_found');
    expect(((await call('/v1/adapters', { key: t.key }).then((r) => r.json())) as any).data).toHaveLength(2);
  });
});

function replaceAscii(bytes: Uint8Array, from: string, to: string) {
  const text = new TextDecoder('latin1').decode(bytes);
  const at = text.indexOf(from);
  if (at < 0 || from.length !== to.length) throw new Error(`"${from}" not in the header`);
  bytes.set(new TextEncoder().encode(to), at);
}
