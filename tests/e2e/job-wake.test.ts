/**
 * The edge wakes backends when it queues a job (edge/jobs/wake.ts), so a job starts without waiting for the
 * backend's poll; when the wake cannot reach a backend, its poll still claims the job. Over real processes: the
 * first backend polls every 10 minutes, so only the wake can start its job within the test; the second
 * announces a URL nothing listens on, so only its poll can.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fixtureTenant, startStack, uploadFixtureAdapter, waitFor, withStackLogs, type EdgeApi, type Stack } from './stack.ts';

const NEVER_POLLS_MS = 10 * 60_000;

let stack: Stack;
let api: EdgeApi;

beforeAll(async () => {
  stack = await startStack({ leaseTtlS: 30, backendEnv: { TASK_POLL_MS: String(NEVER_POLLS_MS) } });
  api = await fixtureTenant(stack, 'wake');
  await uploadFixtureAdapter(api, 'a', 'task_a');
  await uploadFixtureAdapter(api, 'b', 'task_b');
});

afterAll(async () => {
  await stack?.stop();
});

async function mergeFinished(name: string): Promise<any> {
  const created = await api.json('/v1/merges', { body: { name, base_model: 'tiny-llama', adapters: ['a', 'b'], method: 'cat' } }, 201);
  return waitFor(
    `merge ${name} to finish`,
    async () => {
      const job = await api.json(`/v1/merges/${created.id}`);
      return job.status === 'succeeded' || job.status === 'failed' ? job : undefined;
    },
    60_000,
    50,
  );
}

describe('waking backends', () => {
  test('a queued job is claimed on the edge’s wake, long before the backend would poll', () =>
    withStackLogs(stack, async () => {
      expect((await mergeFinished('woken')).status).toBe('succeeded');
      expect(stack.backend.logs()).toMatch(/claimed merge\//);
    }));

  test('a backend the wake cannot reach still claims the job at its poll', () =>
    withStackLogs(stack, async () => {
      await stack.backend.stop();
      // Port 1 on loopback: the edge's wake (and any other push) to this backend is refused.
      const polling = await stack.startBackend('e2e-unwakeable', { TASK_POLL_MS: '250', BACKEND_URL: 'http://127.0.0.1:1' });
      expect((await mergeFinished('polled')).status).toBe('succeeded');
      expect(polling.logs()).toMatch(/claimed merge\//);
    }));
});
