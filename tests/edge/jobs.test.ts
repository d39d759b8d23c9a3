import { inject } from 'vitest';
import { describe, expect, it } from 'vitest';
import { call, createTenant, expectError, expectJson } from './api.ts';
import { claim, expireLease, heartbeat, jobReport, taskCall, writeProducedAdapter } from './backend-client.ts';
import { registerBase } from './fixtures.ts';
import type { LoggedRequest } from './fake-backends.ts';
import { JOB_WAKE_PATH } from '../../contracts/api/jobs.ts';

const GOOD_JSONL = [
  '{"prompt": "2+2=", "completion": " 4"}',
  '',
  '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}',
].join('\n');

async function uploadDataset(key: string, text = GOOD_JSONL, filename = 'train.jsonl') {
  const form = new FormData();
  form.set('purpose', 'fine-tune');
  form.set('file', new File([text], filename));
  return call('/v1/files', { key, body: form });
}

async function tenantWithData() {
  const t = await createTenant();
  await registerBase(t.key);
  const file = (await (await uploadDataset(t.key)).json()) as any;
  return { ...t, fileId: file.id as string };
}

/** Claims fine-tuning jobs until it gets `id` (earlier tests leave theirs in the shared queue). */
async function claimJob(id: string, backendId: string) {
  for (;;) {
    const task = await claim(backendId, ['fine_tuning']);
    if (!task) throw new Error(`fine_tuning ${id} was not claimable`);
    if (task.id === id) return task;
  }
}

function createJob(key: string, fileId: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return call('/v1/fine_tuning/jobs', { key, body: { model: 'tiny-llama', training_file: fileId, ...extra }, headers });
}

describe('datasets', () => {
  it('accepts JSONL whose every line is an example', async () => {
    const t = await createTenant();
    const res = await uploadDataset(t.key);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      object: 'file',
      purpose: 'fine-tune',
      status: 'processed',
      examples: 2,
      filename: 'train.jsonl',
    });
  });

  it('refuses a file with bad lines, naming them, and records nothing', async () => {
    const t = await createTenant();
    const res = await uploadDataset(t.key, '{"prompt": "a", "completion": "b"}\nnot json\n{"prompt": 1, "completion": "x"}');
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as any;
    expect(error).toMatchObject({ code: 'invalid_dataset', param: 'file' });
    expect(error.message).toContain('line 2: not valid JSON');
    expect(error.message).toContain('line 3: "prompt" must be a string');
    expect((await expectJson('/v1/files', { key: t.key }, 200)).data).toEqual([]);
  });

  it('refuses a missing file part, another purpose, and datasets over the size limit', async () => {
    const t = await createTenant();
    const noFile = new FormData();
    noFile.set('purpose', 'fine-tune');
    expect((await expectError('/v1/files', { key: t.key, body: noFile }, 400, 'invalid_field')).param).toBe('file');
    const wrongPurpose = new FormData();
    wrongPurpose.set('purpose', 'assistants');
    wrongPurpose.set('file', new File([GOOD_JSONL], 'x.jsonl'));
    expect((await expectError('/v1/files', { key: t.key, body: wrongPurpose }, 400, 'invalid_field')).param).toBe('purpose');
    const huge = '{"prompt": "a", "completion": "b"}\n'.repeat(1_000_000);
    expect(
      (
        await expectError(
          '/v1/files',
          {
            key: t.key,
            body: (() => {
              const f = new FormData();
              f.set('purpose', 'fine-tune');
              f.set('file', new File([huge], 'big.jsonl'));
              return f;
            })(),
          },
          413,
          'body_too_large',
        )
      ).message,
    ).toContain('split the file');
  });
});

describe('fine-tuning jobs', () => {
  it('creates a queued job with defaults, and names unknown models and files', async () => {
    const t = await tenantWithData();
    const res = await createJob(t.key, t.fileId, { suffix: 'support', seed: 7 });
    expect(res.status).toBe(201);
    const job = (await res.json()) as any;
    expect(job).toMatchObject({
      object: 'fine_tuning.job',
      status: 'queued',
      model: 'tiny-llama',
      training_file: t.fileId,
      seed: 7,
      fine_tuned_model: null,
    });
    expect(job.hyperparameters).toEqual({
      n_epochs: 3,
      batch_size: 8,
      learning_rate: 1e-3,
      lora_r: 8,
      lora_alpha: 16,
      target_modules: ['q_proj', 'v_proj'],
    });
    expect(
      (
        await expectError(
          '/v1/fine_tuning/jobs',
          { key: t.key, body: { model: 'gpt-4', training_file: t.fileId } },
          404,
          'base_model_not_found',
        )
      ).param,
    ).toBe('model');
    expect(
      (
        await expectError(
          '/v1/fine_tuning/jobs',
          { key: t.key, body: { model: 'tiny-llama', training_file: 'file-nope' } },
          404,
          'file_not_found',
        )
      ).param,
    ).toBe('training_file');
    expect(
      (
        await expectError(
          '/v1/fine_tuning/jobs',
          { key: t.key, body: { model: 'tiny-llama', training_file: t.fileId, hyperparameters: { lora_r: 512 } } },
          400,
          'invalid_field',
        )
      ).param,
    ).toBe('hyperparameters.lora_r');
  });

  it('honours Idempotency-Key: the same request returns the same job, another body is refused', async () => {
    const t = await tenantWithData();
    const first = await createJob(t.key, t.fileId, {}, { 'idempotency-key': 'k1' });
    const again = await createJob(t.key, t.fileId, {}, { 'idempotency-key': 'k1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(((await again.json()) as any).id).toBe(((await first.json()) as any).id);
    const other = await createJob(t.key, t.fileId, { seed: 1 }, { 'idempotency-key': 'k1' });
    expect(other.status).toBe(409);
    expect(((await other.json()) as any).error.code).toBe('idempotency_key_reused');
    expect((await expectJson('/v1/fine_tuning/jobs', { key: t.key }, 200)).data).toHaveLength(1);
  });

  it('never gives the same job to two backends claiming at once', async () => {
    const t = await tenantWithData();
    // The queue is shared by every tenant: take what earlier tests left in it first.
    while (await claim('drainer', ['fine_tuning']));
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(((await (await createJob(t.key, t.fileId)).json()) as any).id);
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => claim(`claimer-${i}`, ['fine_tuning'])));
    const got = claims.filter(Boolean).map((task: any) => task.id);
    expect(got.sort()).toEqual([...ids].sort());
    expect(claims.filter((c) => c === null)).toHaveLength(6);
  });

  it('makes a job whose lease expired claimable again, resuming from its last checkpoint', async () => {
    const t = await tenantWithData();
    const job = (await (await createJob(t.key, t.fileId)).json()) as any;
    const first = await claim('worker-a', ['fine_tuning']);
    expect(first).toMatchObject({ kind: 'fine_tuning', id: job.id, attempt: 1, resume_from: null, base_model: { name: 'tiny-llama' } });
    expect(first.training_file.storage_key).toContain(t.fileId);
    expect(
      (
        await jobReport(job.id, 'events', {
          backend_id: 'worker-a',
          events: [{ type: 'metrics', message: 'step 10', data: { step: 10, train_loss: 2.5 } }],
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await jobReport(job.id, 'checkpoints', {
          backend_id: 'worker-a',
          step: 10,
          train_loss: 2.5,
          storage_prefix: `${first.output_prefix}checkpoints/10/`,
        })
      ).status,
    ).toBe(200);
    expect(await claim('worker-b', ['fine_tuning'])).toBeNull();

    await expireLease('fine_tuning_jobs', job.id);
    const second = await claim('worker-b', ['fine_tuning']);
    expect(second).toMatchObject({
      id: job.id,
      attempt: 2,
      resume_from: { step: 10, storage_prefix: `${first.output_prefix}checkpoints/10/` },
    });
    const lost = await taskCall('fine_tuning', job.id, 'renew', { backend_id: 'worker-a' });
    expect(lost.status).toBe(409);
    expect(((await lost.json()) as any).error.code).toBe('lease_lost');
    expect((await (await taskCall('fine_tuning', job.id, 'renew', { backend_id: 'worker-b' })).json()) as any).toMatchObject({
      status: 'running',
      cancel_requested: false,
    });

    const checkpoints = await expectJson(`/v1/fine_tuning/jobs/${job.id}/checkpoints`, { key: t.key }, 200);
    expect(checkpoints.data).toMatchObject([{ step_number: 10, metrics: { train_loss: 2.5 } }]);
    const events = await expectJson(`/v1/fine_tuning/jobs/${job.id}/events`, { key: t.key }, 200);
    expect(events.data.map((e: any) => e.message)).toEqual(['Checkpoint at step 10.', 'step 10']);
  });

  it("refuses a checkpoint prefix that could reach past the job's output prefix, however it is spelled", async () => {
    const t = await tenantWithData();
    const job = (await (await createJob(t.key, t.fileId)).json()) as any;
    const { output_prefix: out } = await claimJob(job.id, 'worker-ckpt');
    for (const prefix of [
      `${out}%2e%2e/`,
      `${out}%2E%2E/x/`,
      `${out}/`,
      `${out}a//b/`,
      `${out}./`,
      `${out}a/./b/`,
      `${out}../`,
      `${out}a\\..\\b/`,
      `${out}a`,
    ]) {
      const res = await jobReport(job.id, 'checkpoints', { backend_id: 'worker-ckpt', step: 2, storage_prefix: prefix });
      expect(res.status, prefix).toBe(400);
      expect(((await res.json()) as any).error).toMatchObject({ code: 'invalid_field', param: 'storage_prefix' });
    }
    const ok = { backend_id: 'worker-ckpt', step: 2, storage_prefix: `${out}checkpoints/step-2/` };
    expect((await jobReport(job.id, 'checkpoints', ok)).status).toBe(200);
  });

  it('records a report of 100 events at once, in order (more rows than one D1 insert binds)', async () => {
    const t = await tenantWithData();
    const job = (await (await createJob(t.key, t.fileId)).json()) as any;
    await claim('worker-many', ['fine_tuning']);
    const events = Array.from({ length: 100 }, (_, i) => ({ type: 'metrics', message: `step ${i + 1}`, data: { step: i + 1 } }));
    expect((await jobReport(job.id, 'events', { backend_id: 'worker-many', events })).status).toBe(200);
    const listed = await expectJson(`/v1/fine_tuning/jobs/${job.id}/events?limit=100`, { key: t.key }, 200);
    expect(listed.data.map((e: any) => e.data.step)).toEqual(Array.from({ length: 100 }, (_, i) => 100 - i));
  });

  it('cancel reaches the running backend: pushed to it, and answered on its next renew', async () => {
    const t = await tenantWithData();
    const [url] = inject('fakeBackends');
    await heartbeat('cancel-worker', url);
    const job = (await (await createJob(t.key, t.fileId)).json()) as any;
    expect((await claim('cancel-worker', ['fine_tuning'])).id).toBe(job.id);
    expect(await expectJson(`/v1/fine_tuning/jobs/${job.id}/cancel`, { key: t.key, method: 'POST' }, 200)).toMatchObject({
      status: 'cancelled',
    });
    const log = (await (await fetch(`${url}/_log`)).json()) as { path: string }[];
    expect(log.map((r) => r.path)).toContain(`/internal/v1/tasks/fine_tuning/${job.id}/cancel`);
    expect(await (await taskCall('fine_tuning', job.id, 'renew', { backend_id: 'cancel-worker' })).json()).toMatchObject({
      status: 'cancelled',
      cancel_requested: true,
    });
    expect((await taskCall('fine_tuning', job.id, 'complete', { backend_id: 'cancel-worker' })).status).toBe(409);
  });

  it('wakes the fresh backends when it queues a job, and answers the same when a wake fails', async () => {
    const t = await tenantWithData();
    const urls = inject('fakeBackends');
    await heartbeat('wake-worker', urls[0]);
    // Nothing listens on port 1: this wake fails, which must not fail the job's creation.
    await heartbeat('wake-unreachable', 'http://127.0.0.1:1');
    const job = (await (await createJob(t.key, t.fileId)).json()) as any;
    expect(job.status).toBe('queued');
    // The wake is sent after the answer (waitUntil): wait for it to land rather than for a time.
    for (;;) {
      const log = (await (await fetch(`${urls[0]}/_log`)).json()) as LoggedRequest[];
      if (log.some((r) => r.path === JOB_WAKE_PATH && r.signedFor === 'wake-worker')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await claimJob(job.id, 'wake-worker')).id).toBe(job.id);
  });

  it('turns a completed job into a ready adapter the tenant can call', async () => {
    const t = await tenantWithData();
    const job = (await (await createJob(t.key, t.fileId, { suffix: 'helpful' })).json()) as any;
    const task = await claim('trainer', ['fine_tuning']);
    await writeProducedAdapter(task.output_prefix);
    expect((await taskCall('fine_tuning', job.id, 'complete', { backend_id: 'trainer', trained_tokens: 1234 })).status).toBe(200);
    const done = await expectJson(`/v1/fine_tuning/jobs/${job.id}`, { key: t.key }, 200);
    expect(done).toMatchObject({
      status: 'succeeded',
      trained_tokens: 1234,
      fine_tuned_model: expect.stringMatching(/^tiny-llama:helpful-/),
    });
    expect((await expectJson('/v1/fine_tuning/jobs', { key: t.key }, 200)).data).toEqual([done]);
    expect(await expectJson(`/v1/adapters/${done.adapter_id}`, { key: t.key }, 200)).toMatchObject({
      status: 'ready',
      source: 'training',
      source_id: job.id,
      rank: 4,
    });
    const models = await expectJson('/v1/models', { key: t.key }, 200);
    expect(models.data.map((m: any) => m.id)).toContain(done.fine_tuned_model);
  });

  it('completed three times at once (a backend retrying), registers one adapter and answers the others 409', async () => {
    const t = await tenantWithData();
    const job = (await (await createJob(t.key, t.fileId, { suffix: 'once' })).json()) as any;
    const task = await claimJob(job.id, 'retrier');
    await writeProducedAdapter(task.output_prefix);
    const answers = await Promise.all([1, 2, 3].map(() => taskCall('fine_tuning', job.id, 'complete', { backend_id: 'retrier' })));
    const bodies = await Promise.all(answers.map(async (r) => ({ status: r.status, body: (await r.json()) as any })));
    expect(bodies.map((b) => b.status).sort()).toEqual([200, 409, 409]);
    for (const b of bodies.filter((x) => x.status === 409)) expect(b.body.error.code).toBe('task_finished');
    const done = await expectJson(`/v1/fine_tuning/jobs/${job.id}`, { key: t.key }, 200);
    const produced = (await expectJson('/v1/adapters', { key: t.key }, 200)).data.filter((a: any) => a.source_id === job.id);
    expect(produced.map((a: any) => a.id)).toEqual([done.adapter_id]);
  });

  it('fails a job whose produced adapter does not pass the check', async () => {
    const t = await tenantWithData();
    const job = (await (await createJob(t.key, t.fileId)).json()) as any;
    await claim('sloppy', ['fine_tuning']);
    const res = await taskCall('fine_tuning', job.id, 'complete', { backend_id: 'sloppy' });
    expect(res.status).toBe(422);
    expect(await expectJson(`/v1/fine_tuning/jobs/${job.id}`, { key: t.key }, 200)).toMatchObject({
      status: 'failed',
      error: { code: 'output_missing' },
    });
  });
});
