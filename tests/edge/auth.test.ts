import { describe, expect, it } from 'vitest';
import { call, createTenant, expectError, expectJson } from './api.ts';

describe('API keys', () => {
  it('creates a tenant with a working key, stored only as a hash', async () => {
    const t = await createTenant();
    expect(t.key).toMatch(/^rg-/);
    const list = await expectJson('/v1/api-keys', { key: t.key }, 200);
    expect(list.data).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain(t.key);
  });

  it('answers 401 with a clear message for a missing, malformed, unknown or revoked key', async () => {
    const t = await createTenant();
    expect((await expectError('/v1/api-keys', {}, 401, 'missing_api_key')).message).toContain('Authorization: Bearer');
    await expectError('/v1/api-keys', { headers: { authorization: 'Basic abc' } }, 401, 'invalid_authorization');
    await expectError('/v1/api-keys', { key: 'rg-not-a-key' }, 401, 'invalid_api_key');
    const second = await expectJson('/v1/api-keys', { key: t.key, body: { name: 'ci' } }, 201);
    await expectJson(`/v1/api-keys/${second.id}`, { key: t.key, method: 'DELETE' }, 200);
    expect((await expectError('/v1/api-keys', { key: second.key }, 401, 'revoked_api_key')).message).toContain('revoked');
    await expectJson('/v1/api-keys', { key: t.key }, 200);
  });

  it('keeps tenant creation to the operator', async () => {
    await expectError('/admin/v1/tenants', { body: { name: 'x' } }, 401, 'invalid_credentials');
    await expectError('/admin/v1/tenants', { body: { name: 'x' }, key: 'rg-guess' }, 401, 'invalid_credentials');
  });

  it('answers unknown routes with a 404 in the OpenAI shape', async () => {
    const res = await call('/v1/nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unknown_route');
  });
});
