/**
 * One identity per backend: each backend's credential is bound to its backend_id, it acts only as itself,
 * lease errors name no other backend, heartbeat URLs must be public unless the edge allows private ones, and
 * what the edge forwards is signed for the backend it goes to.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { createApp } from '../../edge/app.ts';
import { EVENT_DATA_MAX_BYTES, EVENTS_REPORT_MAX_BYTES } from '../../contracts/api/internal-api.ts';
import { call, createTenant, expectError, expectJson } from './api.ts';
import { claim, heartbeat, heartbeatCall, issueCredential, jobReport, taskCall, tokenFor } from './backend-client.ts';
import { fixtureAdapter, registerBase, uploadAdapter } from './fixtures.ts';
import { TEST_ADMIN_TOKEN } from './secrets.ts';

const urls = inject('fakeBackends');

async function backendUrl(id: string): Promise<string | null> {
  const row = await env.DB.prepare('select url from backends where id = ?').bind(id).first<{ url: string }>();
  return row?.url ?? null;
}

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string; param: string | null } }).error;
}

/** A fine-tuning job claimed by `owner`. */
async function claimedJob(owner: string) {
  const t = await createTenant();
  await registerBase(t.key);
  const form = new FormData();
  form.set('purpose', 'fine-tune');
  form.set('file', new File(['{"prompt": "2+2=", "completion": " 4"}'], 'train.jsonl'));
  const file = (await (await call('/v1/files', { key: t.key, body: form })).json()) as any;
  const job = await expectJson('/v1/fine_tuning/jobs', { key: t.key, body: { model: 'tiny-llama', training_file: file.id } }, 201);
  // Older jobs of this file's queue go first: take them out of the way.
  for (let task = await claim(owner, ['fine_tuning']); task; task = await claim(owner, ['fine_tuning'])) if (task.id === job.id) break;
  return job.id as string;
}

describe('backend credentials', () => {
  it('are issued by the operator only, shown once, listed without the token, and refused once revoked', async () => {
    await expectError('/admin/v1/backend-credentials', { body: {} }, 401, 'invalid_credentials');
    const t = await createTenant();
    await expectError('/admin/v1/backend-credentials', { key: t.key, body: {} }, 401, 'invalid_credentials');

    const issued = await issueCredential('gpu-7');
    expect(issued).toMatchObject({ object: 'backend_credential', backend_id: 'gpu-7', revoked_at: null });
    expect(issued.token).toMatch(/^rgb-/);
    const generated = await issueCredential();
    expect(generated.backend_id).toMatch(/^backend-/);
    const listed = await expectJson('/admin/v1/backend-credentials', { key: TEST_ADMIN_TOKEN }, 200);
    expect(listed.data.map((c: any) => c.id)).toContain(issued.id);
    expect(JSON.stringify(listed)).not.toContain(issued.token);

    const body = { backend_id: 'gpu-7', url: urls[0], capacity: 1, in_flight: 0 };
    await expectError('/internal/v1/backends/heartbeat', { key: 'rgb-made-up', body }, 401, 'invalid_credentials');
    expect((await call('/internal/v1/backends/heartbeat', { key: issued.token, body })).status).toBe(200);
    expect(await backendUrl('gpu-7')).toBe(urls[0]);

    expect(await expectJson(`/admin/v1/backend-credentials/${issued.id}`, { key: TEST_ADMIN_TOKEN, method: 'DELETE' }, 200)).toMatchObject({
      revoked_at: expect.any(Number),
    });
    const after = await call('/internal/v1/tasks/claim', { key: issued.token, body: { backend_id: 'gpu-7' } });
    expect(after.status).toBe(401);
    expect((await errorOf(after)).code).toBe('revoked_credentials');
    // Its last credential gone, the backend gets no more traffic.
    expect(await backendUrl('gpu-7')).toBeNull();
    await expectError(`/admin/v1/backend-credentials/bcred-nope`, { key: TEST_ADMIN_TOKEN, method: 'DELETE' }, 404);
  });

  it("refuses a heartbeat that names another backend, and leaves that backend's URL as it was", async () => {
    await heartbeat('victim', urls[0]);
    await heartbeat('impostor', urls[1]);
    const res = await heartbeatCall('victim', urls[2], { as: 'impostor' });
    expect(res.status).toBe(403);
    const error = await errorOf(res);
    expect(error.code).toBe('backend_id_mismatch');
    expect(error.param).toBe('backend_id');
    expect(await backendUrl('victim')).toBe(urls[0]);
  });

  it("refuses claiming, renewing, reporting, completing and failing as another backend; a lost lease's 409 names no owner", async () => {
    const jobId = await claimedJob('owner-a');
    await tokenFor('intruder-b');
    expect((await call('/internal/v1/tasks/claim', { key: await tokenFor('intruder-b'), body: { backend_id: 'owner-a' } })).status).toBe(
      403,
    );
    for (const action of ['renew', 'complete', 'fail'] as const) {
      const body = { backend_id: 'owner-a', ...(action === 'fail' ? { error: { code: 'x', message: 'gave up' } } : {}) };
      const impersonating = await taskCall('fine_tuning', jobId, action, body, 'intruder-b');
      expect(impersonating.status).toBe(403);
      expect((await errorOf(impersonating)).code).toBe('backend_id_mismatch');
      const asItself = await taskCall('fine_tuning', jobId, action, { ...body, backend_id: 'intruder-b' });
      expect(asItself.status).toBe(409);
      const error = await errorOf(asItself);
      expect(error.code).toBe('lease_lost');
      expect(error.message).not.toContain('owner-a');
    }
    const events = { backend_id: 'owner-a', events: [{ message: 'step 1' }] };
    expect((await jobReport(jobId, 'events', events, 'intruder-b')).status).toBe(403);
    const checkpoint = { backend_id: 'owner-a', step: 1, storage_prefix: 'x/' };
    expect((await jobReport(jobId, 'checkpoints', checkpoint, 'intruder-b')).status).toBe(403);
    // The owner still holds it.
    expect(await (await taskCall('fine_tuning', jobId, 'renew', { backend_id: 'owner-a' })).json()).toMatchObject({ status: 'running' });
  });

  it("serves a task's spec (with its storage keys) only to the backend that holds or held it", async () => {
    const jobId = await claimedJob('spec-owner');
    const path = `/internal/v1/tasks/fine_tuning/${jobId}`;
    expect(await expectJson(path, { key: await tokenFor('spec-owner') }, 200)).toMatchObject({ kind: 'fine_tuning', id: jobId });
    const res = await call(path, { key: await tokenFor('spec-other') });
    expect(res.status).toBe(404);
    const error = await errorOf(res);
    expect(error).toMatchObject({ code: 'task_not_found', param: 'id' });
    expect(JSON.stringify(error)).not.toContain('tenants/');
    // Finished, it is still the owner's to read (a backend may look back at what it did).
    expect((await taskCall('fine_tuning', jobId, 'fail', { backend_id: 'spec-owner', error: { code: 'x', message: 'stop' } })).status).toBe(
      200,
    );
    expect((await call(path, { key: await tokenFor('spec-owner') })).status).toBe(200);
    expect((await call(path, { key: await tokenFor('spec-other') })).status).toBe(404);
  });

  it('refuses oversize event data and oversize reports with a 400 naming the limit', async () => {
    const jobId = await claimedJob('reporter');
    const big = { blob: 'x'.repeat(EVENT_DATA_MAX_BYTES) };
    const one = await jobReport(jobId, 'events', { backend_id: 'reporter', events: [{ message: 'm', data: big }] });
    expect(one.status).toBe(400);
    const error = await errorOf(one);
    expect(error.param).toBe('events.0.data');
    expect(error.message).toContain(String(EVENT_DATA_MAX_BYTES));

    const each = { blob: 'y'.repeat(EVENT_DATA_MAX_BYTES - 100) };
    const many = Array.from({ length: Math.ceil(EVENTS_REPORT_MAX_BYTES / EVENT_DATA_MAX_BYTES) + 1 }, () => ({
      message: 'm',
      data: each,
    }));
    const whole = await jobReport(jobId, 'events', { backend_id: 'reporter', events: many });
    expect(whole.status).toBe(400);
    expect((await errorOf(whole)).message).toContain(String(EVENTS_REPORT_MAX_BYTES));

    expect((await jobReport(jobId, 'events', { backend_id: 'reporter', events: [{ message: 'ok', data: { step: 1 } }] })).status).toBe(200);
  });
});

describe('heartbeat URLs', () => {
  const strict = createApp();
  const strictCall = async (url: string, allow: string) => {
    const backendId = 'url-checked';
    return strict.request(
      '/internal/v1/backends/heartbeat',
      {
        method: 'POST',
        headers: { authorization: `Bearer ${await tokenFor(backendId)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ backend_id: backendId, url, capacity: 1, in_flight: 0 }),
      },
      { ...env, ALLOW_PRIVATE_BACKEND_URLS: allow },
    );
  };

  it('refuses loopback, link-local, private, CGNAT, unspecified and local IPv6 addresses unless allowed', async () => {
    const refused = [
      'http://169.254.169.254/latest/meta-data/',
      'http://127.0.0.1:8788',
      'http://10.1.2.3',
      'http://[::1]:8788',
      'http://localhost:8788',
      'http://0x7f.1/',
      'http://100.64.0.1',
      'http://172.20.0.5',
      'http://192.168.1.10',
      'http://0.0.0.0',
      'http://[fd00::1]',
      'http://[fe80::1]',
      'http://[::ffff:169.254.169.254]',
      'http://[::]',
    ];
    for (const url of refused) {
      const res = await strictCall(url, 'false');
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      const error = await errorOf(res);
      expect(error.code).toBe('private_backend_url');
      expect(error.message).toContain('ALLOW_PRIVATE_BACKEND_URLS');
    }
    for (const url of ['http://169.254.169.254', 'http://127.0.0.1:8788', 'http://10.1.2.3', 'http://[::1]:8788']) {
      expect((await strictCall(url, 'true')).status).toBe(200);
    }
    for (const url of ['https://gpu-1.example.com', 'http://203.0.113.9:8788', 'http://[2001:db8::1]']) {
      expect((await strictCall(url, 'false')).status).toBe(200);
    }
  });
});

describe('forwarded requests', () => {
  it('are signed for the backend they go to', async () => {
    await env.DB.prepare('update backends set last_heartbeat_at = 0').run();
    await heartbeat('signed-0', urls[0]);
    const t = await createTenant();
    await registerBase(t.key);
    await uploadAdapter(t.key, 'tiny-llama', 'task_a', await fixtureAdapter('task_a'));
    const res = await call('/v1/chat/completions', {
      key: t.key,
      body: { model: 'tiny-llama:task_a', messages: [{ role: 'user', content: 'hello' }] },
    });
    expect(res.status).toBe(200);
    const log = (await (await fetch(`${urls[0]}/_log`)).json()) as { signedFor: string; body: any }[];
    expect(log.at(-1)).toMatchObject({ signedFor: 'signed-0', body: { rankgate: { tenant_id: t.id } } });
  });
});
