import { describe, expect, it } from 'vitest';
import { call, createTenant, expectJson } from './api.ts';
import { claim, taskCall } from './backend-client.ts';
import { fixtureAdapter, registerBase, startUpload, store, uploadAdapter } from './fixtures.ts';

/** Tenant A with one of everything: base model, ready and uploading adapters, file, job, merge (built), compression. */
async function tenantA() {
  const a = await createTenant('tenant-a');
  const base = await registerBase(a.key, 'secret-base');
  const files = await fixtureAdapter('task_a');
  const adapter = (await (await uploadAdapter(a.key, 'secret-base', 'secret-adapter', files)).json()) as any;
  await uploadAdapter(a.key, 'secret-base', 'other-adapter', await fixtureAdapter('task_b'));
  const uploading = await startUpload(a.key, 'secret-base', 'secret-upload', files);
  const form = new FormData();
  form.set('purpose', 'fine-tune');
  form.set('file', new File(['{"prompt": "secret", "completion": "data"}'], 'secret.jsonl'));
  const file = (await (await call('/v1/files', { key: a.key, body: form })).json()) as any;
  const job = await expectJson('/v1/fine_tuning/jobs', { key: a.key, body: { model: 'secret-base', training_file: file.id } }, 201);
  const merge = await expectJson(
    '/v1/merges',
    { key: a.key, body: { name: 'secret-merge', base_model: 'secret-base', adapters: ['secret-adapter', 'other-adapter'], method: 'cat' } },
    201,
  );
  for (let task = await claim('tenancy-backend', ['merge']); task; task = await claim('tenancy-backend', ['merge'])) {
    await store.put(`${task.output_prefix}artifact`, 'x');
    await taskCall('merge', task.id, 'complete', { backend_id: 'tenancy-backend' });
  }
  const compression = await expectJson('/v1/compressions', { key: a.key, body: { adapter: 'other-adapter', rank: 2 } }, 202);
  const keys = await expectJson('/v1/api-keys', { key: a.key }, 200);
  return { a, base, adapter, uploading, file, job, merge, compression, keyId: keys.data[0].id as string };
}

describe('tenancy', () => {
  it("answers 404 to tenant B on every route that names tenant A's things, and never shows their data", async () => {
    const x = await tenantA();
    const b = await createTenant('tenant-b');
    await registerBase(b.key, 'own-base');
    const bytes = new Uint8Array(10);
    const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }] });
    const attempts: [string, string, unknown?][] = [
      ['GET', `/v1/base-models/${x.base.id}`],
      ['GET', '/v1/base-models/secret-base'],
      ['DELETE', `/v1/base-models/${x.base.id}`],
      [
        'POST',
        '/v1/adapters',
        {
          name: 'mine',
          base_model: 'secret-base',
          files: [
            { filename: 'adapter_config.json', bytes: 1 },
            { filename: 'adapter_model.safetensors', bytes: 1 },
          ],
        },
      ],
      [
        'POST',
        '/v1/adapters',
        {
          name: 'mine',
          base_model: x.base.id,
          files: [
            { filename: 'adapter_config.json', bytes: 1 },
            { filename: 'adapter_model.safetensors', bytes: 1 },
          ],
        },
      ],
      ['GET', `/v1/adapters/${x.adapter.id}`],
      ['GET', '/v1/adapters/secret-adapter'],
      ['GET', `/v1/adapters/${x.adapter.id}/download`],
      ['POST', `/v1/adapters/${x.uploading.adapter.id}/commit`],
      ['PUT', `/v1/adapters/${x.uploading.adapter.id}/files/adapter_config.json`, bytes],
      ['DELETE', `/v1/adapters/${x.adapter.id}`],
      ['GET', `/v1/files/${x.file.id}`],
      ['DELETE', `/v1/files/${x.file.id}`],
      ['POST', '/v1/fine_tuning/jobs', { model: 'own-base', training_file: x.file.id }],
      ['POST', '/v1/fine_tuning/jobs', { model: 'secret-base', training_file: x.file.id }],
      ['GET', `/v1/fine_tuning/jobs/${x.job.id}`],
      ['GET', `/v1/fine_tuning/jobs/${x.job.id}/events`],
      ['GET', `/v1/fine_tuning/jobs/${x.job.id}/checkpoints`],
      ['POST', `/v1/fine_tuning/jobs/${x.job.id}/cancel`],
      ['POST', '/v1/merges', { name: 'steal', base_model: 'own-base', adapters: [x.adapter.id, 'other-adapter'], method: 'cat' }],
      ['GET', `/v1/merges/${x.merge.id}`],
      ['GET', '/v1/merges/secret-merge'],
      ['POST', `/v1/merges/${x.merge.id}/revert`, { adapter: 'secret-adapter' }],
      ['POST', '/v1/compressions', { adapter: x.adapter.id, rank: 2 }],
      ['GET', `/v1/compressions/${x.compression.id}`],
      ['POST', '/v1/chat/completions', chat('secret-base')],
      ['POST', '/v1/chat/completions', chat('secret-base:secret-adapter')],
      ['POST', '/v1/chat/completions', chat('secret-base:secret-merge')],
      ['POST', '/v1/chat/completions', chat('secret-base:secret-merge/secret-adapter')],
      ['POST', '/v1/completions', { model: `secret-base:${x.adapter.id}`, prompt: 'hi' }],
      ['DELETE', `/v1/api-keys/${x.keyId}`],
    ];
    const secrets = [x.base.storage_prefix, 'tenant-a', x.a.id, 'secret data', x.adapter.sha256];
    for (const [method, path, body] of attempts) {
      const res = await call(path, {
        method,
        key: b.key,
        body,
        headers: body instanceof Uint8Array ? { 'content-length': String(body.length) } : {},
      });
      const text = await res.text();
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      expect(JSON.parse(text).error.type).toBe('not_found_error');
      for (const s of secrets) expect(text).not.toContain(s);
    }

    // Lists show B only B's things; A's things are untouched.
    for (const list of [
      '/v1/base-models',
      '/v1/adapters',
      '/v1/files',
      '/v1/fine_tuning/jobs',
      '/v1/merges',
      '/v1/compressions',
      '/v1/models',
    ]) {
      const text = await (await call(list, { key: b.key })).text();
      expect(text).not.toContain('secret');
    }
    expect(await expectJson(`/v1/adapters/${x.adapter.id}`, { key: x.a.key }, 200)).toMatchObject({ status: 'ready' });
    expect(await expectJson(`/v1/fine_tuning/jobs/${x.job.id}`, { key: x.a.key }, 200)).toMatchObject({ status: 'queued' });
    expect((await expectJson('/v1/api-keys', { key: x.a.key }, 200)).data[0].revoked_at).toBeNull();
  });
});
