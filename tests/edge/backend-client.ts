/**
 * Plays a backend against the internal routes, as gpu-backend will: each backend id gets its own credential,
 * issued through the operator's route the first time it is used (D1 lasts for the test file, and so does this cache).
 */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { call, expectJson } from './api.ts';
import { fixtureAdapter, store } from './fixtures.ts';
import { TEST_ADMIN_TOKEN } from './secrets.ts';

const tokens = new Map<string, Promise<string>>();

/** Issues a new credential for `backendId` through the admin route; returns the whole answer. */
export function issueCredential(backendId?: string) {
  return expectJson('/admin/v1/backend-credentials', { key: TEST_ADMIN_TOKEN, body: backendId ? { backend_id: backendId } : {} }, 201);
}

/** The credential this test file uses for `backendId`. */
export function tokenFor(backendId: string): Promise<string> {
  let token = tokens.get(backendId);
  if (!token) {
    token = issueCredential(backendId).then((c) => c.token as string);
    tokens.set(backendId, token);
  }
  return token;
}

export function heartbeatCall(backendId: string, url: string, extra: { capacity?: number; in_flight?: number; as?: string } = {}) {
  return tokenFor(extra.as ?? backendId).then((key) =>
    call('/internal/v1/backends/heartbeat', {
      key,
      body: { backend_id: backendId, url, capacity: extra.capacity ?? 4, in_flight: extra.in_flight ?? 0 },
    }),
  );
}

export async function heartbeat(backendId: string, url: string, extra: { capacity?: number; in_flight?: number } = {}) {
  const res = await heartbeatCall(backendId, url, extra);
  const text = await res.text();
  expect({ status: res.status, body: text }).toMatchObject({ status: 200 });
  return JSON.parse(text);
}

export async function claim(backendId: string, kinds?: string[]) {
  const body = await expectJson(
    '/internal/v1/tasks/claim',
    { key: await tokenFor(backendId), body: { backend_id: backendId, ...(kinds ? { kinds } : {}) } },
    200,
  );
  return body.task;
}

/** A lease call as the backend the body names, or, with `as`, with another backend's credential. */
export async function taskCall(
  kind: string,
  id: string,
  action: 'renew' | 'complete' | 'fail',
  body: Record<string, unknown>,
  as?: string,
) {
  return call(`/internal/v1/tasks/${kind}/${id}/${action}`, { key: await tokenFor(as ?? String(body.backend_id)), body });
}

/** Reports training events or a checkpoint as the backend the body names (or with `as`'s credential). */
export async function jobReport(id: string, what: 'events' | 'checkpoints', body: Record<string, unknown>, as?: string) {
  return call(`/internal/v1/fine_tuning/jobs/${id}/${what}`, { key: await tokenFor(as ?? String(body.backend_id)), body });
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
