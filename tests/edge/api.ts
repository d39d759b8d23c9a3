/** Calling the edge from tests: through the Worker's own fetch handler inside workerd, as a client would. */
import { exports } from 'cloudflare:workers';
import { expect } from 'vitest';
import { TEST_ADMIN_TOKEN, TEST_BACKEND_SECRET } from './secrets.ts';

export interface CallOptions {
  method?: string;
  /** Sent as JSON unless it is already a string, FormData, Uint8Array or stream. */
  body?: unknown;
  key?: string | null;
  headers?: Record<string, string>;
}

export async function call(path: string, opts: CallOptions = {}): Promise<Response> {
  const headers = new Headers(opts.headers);
  if (opts.key) headers.set('authorization', `Bearer ${opts.key}`);
  let body: BodyInit | undefined;
  if (opts.body === undefined) body = undefined;
  else if (
    typeof opts.body === 'string' ||
    opts.body instanceof FormData ||
    opts.body instanceof Uint8Array ||
    opts.body instanceof ReadableStream
  )
    body = opts.body as BodyInit;
  else {
    body = JSON.stringify(opts.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  return exports.default.fetch(
    new Request(`https://edge.test${path}`, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, body }),
  );
}

/** Calls and checks the status; returns the parsed JSON body. */
export async function expectJson<T = any>(path: string, opts: CallOptions, status: number): Promise<T> {
  const res = await call(path, opts);
  const text = await res.text();
  expect({ status: res.status, body: text }).toMatchObject({ status });
  return JSON.parse(text) as T;
}

/** Calls, expects an OpenAI-shaped error with this status (and code, when given); returns the error. */
export async function expectError(path: string, opts: CallOptions, status: number, code?: string) {
  const body = await expectJson<{ error: { message: string; type: string; code: string; param: string | null } }>(path, opts, status);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.message.length).toBeGreaterThan(20);
  if (code) expect(body.error.code).toBe(code);
  return body.error;
}

export async function createTenant(name = 'acme'): Promise<{ id: string; key: string }> {
  const body = await expectJson('/admin/v1/tenants', { key: TEST_ADMIN_TOKEN, body: { name } }, 201);
  return { id: body.tenant.id, key: body.api_key.key };
}

/** The credential of backend TEST_BACKEND_ID (backend-client.ts issues one per backend id for the rest). */
export const backendKey = TEST_BACKEND_SECRET;
