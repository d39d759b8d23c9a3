/**
 * Small helpers for declaring routes with @hono/zod-openapi, so each route file reads as its contract:
 * request schemas, response schemas, and the errors it can answer.
 */
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../env.ts';
import { validationError } from '../errors.ts';
import { ErrorResponse } from '../../contracts/api/error-body.ts';

/** A router whose request-validation failures become OpenAI-shaped 400s naming the field. */
export function router() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target);
    },
  });
}

export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { body: { required: true, description, content: { 'application/json': { schema } } } };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

const error = (description: string) => jsonResponse(ErrorResponse, description);

/** The errors every authenticated JSON route can answer. */
export const commonErrors = {
  400: error('Malformed JSON, unknown fields or wrong types; the message names the field and what to send.'),
  401: error('Missing, unknown or revoked API key.'),
  413: error('Request body over the limit for this route.'),
  415: error('Wrong Content-Type.'),
} as const;

export const notFoundError = { 404: error("No such object for this API key (other tenants' objects are invisible).") } as const;
export const conflictError = {
  409: error('The object is not in a state that allows this; the message says which state is needed.'),
} as const;
export const unavailableError = { 503: error('No backend can take the request now; retry after the Retry-After seconds.') } as const;
export const badGatewayError = { 502: error('Every backend tried failed before answering.') } as const;

export const tenantSecurity = [{ apiKey: [] }];
export const backendSecurity = [{ backendSecret: [] }];
export const adminSecurity = [{ adminToken: [] }];

/**
 * Answers with `data` after checking it against the declared response schema: a response that breaks the
 * contract is our bug, and failing loudly here keeps openapi.yaml honest.
 */
export function reply<T extends z.ZodType, S extends ContentfulStatusCode>(c: Context, schema: T, data: z.input<T>, status: S) {
  return c.json(schema.parse(data) as z.output<T>, status);
}
