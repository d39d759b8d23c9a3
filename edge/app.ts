/**
 * The edge app: shared middleware (database and object store on the context, body limit, errors in
 * OpenAI's shape), then one router per resource. The OpenAPI document is generated from the same routes.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { MAX_JSON_BODY_BYTES } from '../contracts/api/body-limits.ts';
import { createDb } from './db.ts';
import type { AppEnv } from './env.ts';
import { ApiError, errorResponse, handleError } from './errors.ts';
import { adapterRoutes } from './routes/adapters.ts';
import { baseModelRoutes } from './routes/base-models.ts';
import { compressionRoutes } from './routes/compressions.ts';
import { quantizationRoutes } from './routes/quantizations.ts';
import { consoleRoutes } from './console/routes.ts';
import { fileRoutes } from './routes/files.ts';
import { inferenceRoutes } from './routes/inference.ts';
import { mergeRoutes } from './routes/merges.ts';
import { fineTuningRoutes } from './routes/fine-tuning.ts';
import { internalRoutes } from './routes/internal.ts';
import { residencyRoutes } from './routes/residency.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { createStore } from './store.ts';

const UPLOAD_PATHS = [/^\/v1\/files$/, /^\/v1\/adapters\/[^/]+\/files\//];

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * JSON is UTF-8 (RFC 8259), and Request.json() would decode other bytes to U+FFFD without a word: names and
 * prompts would be stored altered. Checked strictly here; the bytes stay cached for c.req.json() to parse.
 */
async function requireUtf8Json(c: Context<AppEnv>, next: Next): Promise<void> {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && JSON_MEDIA_TYPE.test(c.req.header('content-type') ?? '')) {
    const bytes = await c.req.arrayBuffer();
    try {
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      throw new ApiError(400, 'invalid_json', 'The request body is not valid UTF-8; send JSON as UTF-8 text.');
    }
  }
  await next();
}

export function createApp() {
  const app = new OpenAPIHono<AppEnv>();
  app.use(async (c, next) => {
    c.set('db', createDb(c.env.DB));
    c.set('store', createStore(c.env));
    await next();
  });
  // JSON bodies are refused before parsing beyond MAX_JSON_BODY_BYTES; uploads set their own, larger limits.
  const jsonLimit = bodyLimit({
    maxSize: MAX_JSON_BODY_BYTES,
    // Answered, not thrown: the limit may trip inside the body stream, outside the app's error handler.
    onError: (c) =>
      errorResponse(
        c,
        new ApiError(
          413,
          'body_too_large',
          `The request body is over ${MAX_JSON_BODY_BYTES} bytes; send a smaller body (upload large files with POST /v1/files or the adapter upload URLs).`,
        ),
      ),
  });
  app.use(async (c, next) => (UPLOAD_PATHS.some((p) => p.test(c.req.path)) ? next() : jsonLimit(c, () => requireUtf8Json(c, next))));

  app.route('/', tenantRoutes);
  app.route('/', baseModelRoutes);
  app.route('/', adapterRoutes);
  app.route('/', fileRoutes);
  app.route('/', fineTuningRoutes);
  app.route('/', mergeRoutes);
  app.route('/', compressionRoutes);
  app.route('/', quantizationRoutes);
  app.route('/', inferenceRoutes);
  app.route('/', internalRoutes);
  app.route('/', residencyRoutes);
  app.route('/', consoleRoutes);

  app.notFound((c) =>
    handleError(
      new ApiError(404, 'unknown_route', `No route ${c.req.method} ${c.req.path}; see openapi.yaml for the routes this API has.`),
      c,
    ),
  );
  app.onError(handleError);

  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'A tenant API key (rg-...).',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'backendSecret', {
    type: 'http',
    scheme: 'bearer',
    description: "A backend's own credential (BACKEND_TOKEN), issued by POST /admin/v1/backend-credentials and bound to its backend_id.",
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_TOKEN of the operator.',
  });
  return app;
}
