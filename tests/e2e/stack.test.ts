/**
 * rankgate end to end over real processes: s3rver, Miniflare serving the edge, and the backend server.
 * A client uploads an adapter and calls it, trains one on a small JSONL file and calls that, cancels a job,
 * sees a job with no usable data fail with a message, and a job whose backend died resumes on another one.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rng } from '../../gpu-backend/engine/sampling.ts';
import { examples, TASKS } from '../../gpu-backend/default-model/skills.ts';
import { readStream } from '../../bench/serve-load.ts';
import { fixtureTenant, startStack, uploadFixtureAdapter, waitFor, type EdgeApi, type Stack, withStackLogs } from './stack.ts';

/** Short leases, so the resume test does not wait two minutes for one to expire. */
const LEASE_TTL_S = 10;

let stack: Stack;
let api: EdgeApi;

beforeAll(async () => {
  stack = await startStack({ leaseTtlS: LEASE_TTL_S });
  api = await fixtureTenant(stack, 'e2e');
});

afterAll(async () => {
  await stack?.stop();
});

const withLogs = <T>(run: () => Promise<T>) => withStackLogs(stack, run);

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

async function uploadDataset(text: string): Promise<string> {
  const form = new FormData();
  form.set('purpose', 'fine-tune');
  form.set('file', new File([text], 'train.jsonl'));
  return (await api.json('/v1/files', { body: form }, 201)).id;
}

async function createJob(body: Record<string, unknown>) {
  return api.json('/v1/fine_tuning/jobs', { body: { model: 'tiny-llama', ...body } }, 201);
}

function jobIn(id: string, statuses: string[], timeoutMs = 90_000) {
  return waitFor(
    `job ${id} to be ${statuses.join(' or ')}`,
    async () => {
      const job = await api.json(`/v1/fine_tuning/jobs/${id}`);
      return statuses.includes(job.status) ? job : undefined;
    },
    timeoutMs,
  );
}

/** Every event of a job, newest first (following the list's cursor). */
async function events(id: string): Promise<any[]> {
  const all = [];
  for (let after = ''; ; ) {
    const page = await api.json(`/v1/fine_tuning/jobs/${id}/events?limit=100${after && `&after=${after}`}`);
    all.push(...page.data);
    if (!page.has_more) return all;
    after = page.last_id;
  }
}

const completion = (model: string, extra: Record<string, unknown> = {}) =>
  api.json('/v1/completions', { body: { model, prompt: 'reverse words: red fox\n', max_tokens: 12, temperature: 0, ...extra } });

/** The `data:` payloads of an SSE answer. */
async function sse(res: Response): Promise<string[]> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  return (await res.text())
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      expect(block).toMatch(/^data: /);
      return block.slice('data: '.length);
    });
}

describe('an uploaded adapter', () => {
  test('is uploaded through the edge, committed, and served by the backend (JSON and stream)', () =>
    withLogs(async () => {
      expect(await uploadFixtureAdapter(api, 'task-a')).toMatchObject({ status: 'ready', model: 'tiny-llama:task-a' });

      const viaAdapter = await completion('tiny-llama:task-a');
      const viaBase = await completion('tiny-llama');
      expect(viaAdapter).toMatchObject({
        object: 'text_completion',
        model: 'tiny-llama:task-a',
        choices: [{ index: 0 }],
        usage: { completion_tokens: expect.any(Number) },
      });
      expect(viaAdapter.choices[0].text).not.toBe(viaBase.choices[0].text);

      const data = await sse(
        await api.fetch('/v1/completions', {
          body: { model: 'tiny-llama:task-a', prompt: 'reverse words: red fox\n', max_tokens: 12, temperature: 0, stream: true },
        }),
      );
      expect(data.at(-1)).toBe('[DONE]');
      const streamed = data
        .slice(0, -1)
        .map((d) => JSON.parse(d).choices[0].text)
        .join('');
      expect(streamed).toBe(viaAdapter.choices[0].text);

      const chat = await api.json('/v1/chat/completions', {
        body: { model: 'tiny-llama:task-a', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, temperature: 0 },
      });
      expect(chat).toMatchObject({ object: 'chat.completion', choices: [{ message: { role: 'assistant' } }] });
    }));

  test("a request the model cannot take comes back as the backend's 400", () =>
    withLogs(async () => {
      const res = await api.fetch('/v1/completions', { body: { model: 'tiny-llama:task-a', prompt: 'x'.repeat(200) } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error).toMatchObject({ code: 'context_too_long', type: 'invalid_request_error' });
    }));
});

describe('under load', () => {
  test('400 concurrent streams over three adapters and the base all end in [DONE], with no error', () =>
    withLogs(async () => {
      for (const task of ['a', 'b', 'c']) await uploadFixtureAdapter(api, `load-${task}`, `task_${task}`);
      const models = ['tiny-llama', 'tiny-llama:load-a', 'tiny-llama:load-b', 'tiny-llama:load-c'];
      const results = await Promise.all(
        Array.from({ length: 400 }, async (_, i) => {
          const sentAt = performance.now();
          const res = await api.fetch('/v1/chat/completions', {
            body: {
              model: models[i % models.length],
              messages: [{ role: 'user', content: `upper: word ${i}` }],
              max_tokens: 8,
              temperature: 0,
              stream: true,
              stream_options: { include_usage: true },
            },
          });
          if (res.status !== 200) return { status: res.status, done: false, error: await res.text() };
          const s = await readStream(res, sentAt);
          return { status: 200, done: s.done, error: s.error, tokens: s.tokens };
        }),
      );
      const failed = results.filter((r) => r.status !== 200 || !r.done || r.error);
      expect(failed.slice(0, 3)).toEqual([]);
      expect(results.every((r) => (r.tokens ?? 0) > 0)).toBe(true);
    }));
});

describe('fine-tuning', () => {
  test('a job trains on the backend, reports progress and checkpoints, and its adapter is served', () =>
    withLogs(async () => {
      const fileId = await uploadDataset(jsonl(examples(TASKS[0], 12, rng(1))));
      const job = await createJob({
        training_file: fileId,
        suffix: 'rev',
        seed: 3,
        hyperparameters: { n_epochs: 2, batch_size: 4, learning_rate: 0.01, lora_r: 4, target_modules: ['q_proj', 'v_proj', 'down_proj'] },
      });
      const done = await jobIn(job.id, ['succeeded', 'failed', 'cancelled']);
      expect(done, JSON.stringify(done.error)).toMatchObject({
        status: 'succeeded',
        fine_tuned_model: expect.stringMatching(/^tiny-llama:rev-/),
        trained_tokens: expect.any(Number),
      });
      expect(done.trained_tokens).toBeGreaterThan(0);

      const metrics = (await events(job.id)).filter((e) => e.type === 'metrics');
      expect(metrics.map((e) => e.data.step).sort((a: number, b: number) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
      for (const e of metrics)
        expect(Object.keys(e.data)).toEqual(expect.arrayContaining(['step', 'train_loss', 'learning_rate', 'tokens_per_s', 'eta_s']));
      const checkpoints = (await api.json(`/v1/fine_tuning/jobs/${job.id}/checkpoints`)).data;
      expect(checkpoints.map((c: any) => c.step_number).sort()).toEqual([2, 4, 6]);

      const adapter = await api.json(`/v1/adapters/${done.adapter_id}`);
      expect(adapter).toMatchObject({ status: 'ready', source: 'training', rank: 4 });
      const out = await completion(done.fine_tuned_model);
      expect(out).toMatchObject({ object: 'text_completion', model: done.fine_tuned_model });
      // The backend's metrics counted the job (a local stack serves them without METRICS_TOKEN).
      const prometheus = await (await fetch(`${stack.backend.url}/metrics`)).text();
      expect(prometheus).toMatch(/^rankgate_jobs_total\{kind="fine_tuning",outcome="succeeded"\} [1-9]/m);
    }));

  test('a job with nothing to learn after truncation fails with a message for the user', () =>
    withLogs(async () => {
      // Valid JSONL (the edge accepts it), but every prompt is longer than tiny-llama's 128-token context.
      const fileId = await uploadDataset(
        jsonl([
          { prompt: 'p'.repeat(300), completion: 'c' },
          { prompt: 'q'.repeat(300), completion: 'd' },
        ]),
      );
      const job = await createJob({ training_file: fileId });
      const failed = await jobIn(job.id, ['succeeded', 'failed', 'cancelled']);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'empty_dataset' } });
      expect(failed.error.message).toContain('no usable example');
    }));

  test('a cancelled job stops on the backend, which then takes the next job', () =>
    withLogs(async () => {
      const fileId = await uploadDataset(jsonl(examples(TASKS[1], 8, rng(2))));
      const long = await createJob({ training_file: fileId, hyperparameters: { n_epochs: 100, batch_size: 1 } });
      await waitFor(
        'the first training step',
        async () => ((await events(long.id)).some((e) => e.type === 'metrics') ? true : undefined),
        60_000,
      );
      expect(await api.json(`/v1/fine_tuning/jobs/${long.id}/cancel`, { method: 'POST' })).toMatchObject({ status: 'cancelled' });
      await waitFor(
        'the backend to stop the job',
        async () => (stack.backend.logs().includes(`fine_tuning/${long.id} stopped (cancelled)`) ? true : undefined),
        30_000,
      );

      const next = await createJob({ training_file: fileId, hyperparameters: { n_epochs: 1, batch_size: 4 } });
      expect(await jobIn(next.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded' });
      expect((await api.json(`/v1/fine_tuning/jobs/${long.id}`)).status).toBe('cancelled');
    }));

  test('a job whose backend died resumes from its last checkpoint on another backend', () =>
    withLogs(async () => {
      const fileId = await uploadDataset(jsonl(examples(TASKS[2], 8, rng(3))));
      const job = await createJob({ training_file: fileId, hyperparameters: { n_epochs: 16, batch_size: 1 } });
      await waitFor(
        'a checkpoint',
        async () => ((await api.json(`/v1/fine_tuning/jobs/${job.id}/checkpoints`)).data.length > 0 ? true : undefined),
        60_000,
      );
      // The backend dies without a word; its lease runs out and another backend claims the job.
      stack.backend.child.kill('SIGKILL');
      const second = await stack.startBackend('e2e-backend-2');
      stack.backend = second;
      const done = await jobIn(job.id, ['succeeded', 'failed', 'cancelled'], 90_000);
      expect(done, JSON.stringify(done.error)).toMatchObject({ status: 'succeeded' });
      const messages = (await events(job.id)).map((e) => e.message);
      expect(messages.some((m: string) => /^Resuming at step \d+ of 128 \(attempt 2\)/.test(m))).toBe(true);
      expect(second.logs()).toContain(`fine_tuning/${job.id} succeeded`);
    }));
});
