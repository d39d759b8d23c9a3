/**
 * The operator creates tenants (with a first key) and issues backends their credentials; tenants then manage
 * their own API keys.
 */
import { forgetApiKeys, forgetBackends } from '../request-caches.ts';
import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { apiKeys, backendCredentials, backends, tenants } from '../../schema/index.ts';
import { requireAdminToken, requireApiKey } from '../auth/middleware.ts';
import { sha256Hex } from '../../contracts/api/shared-secret.ts';
import { newApiKey, newBackendToken } from '../auth/secrets.ts';
import { BackendCredential, BackendCredentialList, CreateBackendCredentialRequest, NewBackendCredential } from '../schemas/backends.ts';
import { notFound } from '../errors.ts';
import { newId, nowS } from '../ids.ts';
import { ApiKey, CreateApiKeyRequest, CreatedTenant, CreateTenantRequest, NewApiKey } from '../schemas/tenants.ts';
import { IdParam } from '../schemas/common.ts';
import { adminSecurity, commonErrors, jsonBody, jsonResponse, notFoundError, reply, router, tenantSecurity } from './define.ts';

type KeyRow = typeof apiKeys.$inferSelect;
type CredentialRow = typeof backendCredentials.$inferSelect;

function credentialObject(k: CredentialRow) {
  return {
    id: k.id,
    object: 'backend_credential' as const,
    backend_id: k.backendId,
    prefix: k.prefix,
    created_at: k.createdAt,
    revoked_at: k.revokedAt,
  };
}

function keyObject(k: KeyRow) {
  return { id: k.id, object: 'api_key' as const, name: k.name, prefix: k.prefix, created_at: k.createdAt, revoked_at: k.revokedAt };
}

/** A new key and the row that stores only its hash. */
async function newKeyRow(tenantId: string, name: string) {
  const key = newApiKey();
  const row: KeyRow = {
    id: newId('key'),
    tenantId,
    name,
    keyHash: await sha256Hex(key),
    prefix: key.slice(0, 10),
    createdAt: nowS(),
    revokedAt: null,
  };
  return { row, key };
}

export const tenantRoutes = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/admin/v1/tenants',
      summary: 'Create a tenant and its first API key (operator only)',
      security: adminSecurity,
      middleware: [requireAdminToken],
      request: jsonBody(CreateTenantRequest),
      responses: { 201: jsonResponse(CreatedTenant, 'The tenant and its first key (shown once).'), ...commonErrors },
    }),
    async (c) => {
      const { name } = c.req.valid('json');
      const tenant = { id: newId('tenant'), name, createdAt: nowS() };
      const { row, key } = await newKeyRow(tenant.id, 'default');
      await c.var.db.batch([c.var.db.insert(tenants).values(tenant), c.var.db.insert(apiKeys).values(row)]);
      return reply(
        c,
        CreatedTenant,
        { tenant: { id: tenant.id, object: 'tenant', name, created_at: tenant.createdAt }, api_key: { ...keyObject(row), key } },
        201,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/api-keys',
      summary: 'Create another API key for your tenant',
      security: tenantSecurity,
      middleware: [requireApiKey],
      request: jsonBody(CreateApiKeyRequest),
      responses: { 201: jsonResponse(NewApiKey, 'The new key (shown once).'), ...commonErrors },
    }),
    async (c) => {
      const { row, key } = await newKeyRow(c.var.tenantId, c.req.valid('json').name);
      await c.var.db.insert(apiKeys).values(row);
      return reply(c, NewApiKey, { ...keyObject(row), key }, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/api-keys',
      summary: "List your tenant's API keys (without the keys)",
      security: tenantSecurity,
      middleware: [requireApiKey],
      responses: {
        200: jsonResponse(z.object({ object: z.literal('list'), data: z.array(ApiKey) }).openapi('ApiKeyList'), 'Keys, newest first.'),
        ...commonErrors,
      },
    }),
    async (c) => {
      const rows = await c.var.db.select().from(apiKeys).where(eq(apiKeys.tenantId, c.var.tenantId)).orderBy(desc(apiKeys.id));
      return c.json({ object: 'list' as const, data: rows.map(keyObject) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/v1/api-keys/{id}',
      summary: 'Revoke an API key; requests with it answer 401 from then on',
      security: tenantSecurity,
      middleware: [requireApiKey],
      request: { params: IdParam },
      responses: { 200: jsonResponse(ApiKey, 'The revoked key.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const [row] = await c.var.db
        .update(apiKeys)
        .set({ revokedAt: nowS() })
        .where(and(eq(apiKeys.id, id), eq(apiKeys.tenantId, c.var.tenantId), isNull(apiKeys.revokedAt)))
        .returning();
      forgetApiKeys(c.env);
      if (!row) {
        const [existing] = await c.var.db
          .select()
          .from(apiKeys)
          .where(and(eq(apiKeys.id, id), eq(apiKeys.tenantId, c.var.tenantId)));
        if (!existing) throw notFound('API key', id, 'id', 'GET /v1/api-keys');
        return reply(c, ApiKey, keyObject(existing), 200);
      }
      return reply(c, ApiKey, keyObject(row), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/admin/v1/backend-credentials',
      summary: 'Issue a backend its credential (BACKEND_TOKEN), bound to its backend_id (operator only)',
      security: adminSecurity,
      middleware: [requireAdminToken],
      request: jsonBody(CreateBackendCredentialRequest),
      responses: { 201: jsonResponse(NewBackendCredential, 'The credential and its token (shown once).'), ...commonErrors },
    }),
    async (c) => {
      const token = newBackendToken();
      const row: CredentialRow = {
        id: newId('bcred'),
        backendId: c.req.valid('json').backend_id ?? newId('backend'),
        tokenHash: await sha256Hex(token),
        prefix: token.slice(0, 10),
        createdAt: nowS(),
        revokedAt: null,
      };
      await c.var.db.insert(backendCredentials).values(row);
      return reply(c, NewBackendCredential, { ...credentialObject(row), token }, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/admin/v1/backend-credentials',
      summary: 'List backend credentials (without the tokens), newest first (operator only)',
      security: adminSecurity,
      middleware: [requireAdminToken],
      responses: { 200: jsonResponse(BackendCredentialList, 'Credentials, newest first.'), ...commonErrors },
    }),
    async (c) => {
      const rows = await c.var.db
        .select()
        .from(backendCredentials)
        .orderBy(desc(backendCredentials.createdAt), desc(backendCredentials.id));
      return reply(c, BackendCredentialList, { object: 'list', data: rows.map(credentialObject) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/admin/v1/backend-credentials/{id}',
      summary:
        'Revoke a backend credential: its calls answer 401 from then on, and a backend left with none gets no more inference traffic (operator only)',
      security: adminSecurity,
      middleware: [requireAdminToken],
      request: { params: IdParam },
      responses: { 200: jsonResponse(BackendCredential, 'The revoked credential.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { db } = c.var;
      const [existing] = await db.select().from(backendCredentials).where(eq(backendCredentials.id, id));
      if (!existing) throw notFound('backend credential', id, 'id', 'GET /admin/v1/backend-credentials');
      if (existing.revokedAt !== null) return reply(c, BackendCredential, credentialObject(existing), 200);
      const [row] = await db.update(backendCredentials).set({ revokedAt: nowS() }).where(eq(backendCredentials.id, id)).returning();
      const [stillValid] = await db
        .select({ id: backendCredentials.id })
        .from(backendCredentials)
        .where(and(eq(backendCredentials.backendId, row.backendId), isNull(backendCredentials.revokedAt)))
        .limit(1);
      // Routing reads the backends table: without a valid credential the backend is dropped now, not at its heartbeat TTL.
      if (!stillValid) await db.delete(backends).where(eq(backends.id, row.backendId));
      forgetBackends(c.env);
      return reply(c, BackendCredential, credentialObject(row), 200);
    },
  );
