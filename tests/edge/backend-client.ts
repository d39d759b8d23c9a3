/** Plays a backend against the internal routes, as gpu-backend will. */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { backendKey, call, expectJson } from './api.ts';
import { fixtureAdapter, store } from './fixtures.ts';

export function heartbeat(backendId: string, url: string, extra: { capacity?: number; in_flight?: number } = {}) {
  return expectJson(
    '/internal/v1/backends/heartbeat',
    { key: backendKey, body: { backend_id: backendId, url, capacity: extra.capacity ?? 4, in_flight: extra.in_flight ?? 0 } },
    200,
  );
}

export async function claim(backendId: string, kinds?: string[]) {
  const body = await expectJson(
    '/internal/v1/tasks/claim',
    { key: backendKey, body: { backend_id: backendId, ...(kinds ? { kinds } : {}) } },
    200,
  );
  return body.task;
}

export function taskCall(kind: string, id: string, action: 'renew' | 'complete' | 'fail', body: Record<string, unknown>) {
  return call(`/internal/v1/tasks/${kind}/${id}/${action}`, { key: backendKey, body });
}

/** Writes a fixture adapter where a task's produced adapter goes, as a backend finishing it would. */
export async function writeProducedAdapter(outputPrefix: string, task: 'task_a' | 'task_b' | 'task_c' = 'task_a') {
  const files = await fixtureAdapter(task);
  await store.put(`${outputPrefix}adapter/adapter_config.json`, files.config);
  await store.put(`${outputPrefix}adapter/adapter_model.safetensors`, files.model);
}

/** Moves a lease's expiry into the past, as if its holder had gone silent that long. */
export async function expireLease(table: string, id: string) {
  const r = await env.DB.prepare(`update ${table} set lease_expires_at = ? where id = ?`)
    .bind(Math.floor(Date.now() / 1000) - 1, id)
    .run();
  expect(r.meta.changes).toBe(1);
}
