/**
 * Every error answers in OpenAI's shape, `{"error": {"message", "type", "code", "param"}}`. A 4xx message says
 * what to change; 5xx are ours and say so without leaking internals.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { errorBody } from '../contracts/api/error-body.ts';
import { describeIssues } from '../contracts/api/zod-issues.ts';
import { InvalidInputError } from '../contracts/formats/errors.ts';

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** 404 for anything the caller's tenant does not own: other tenants' things are indistinguishable from nothing. */
export function notFound(what: string, id: string, param: string | null = null, listHint?: string): ApiError {
  const hint = listHint ? ` List yours with ${listHint}.` : '';
  return new ApiError(404, `${what.replaceAll(' ', '_')}_not_found`, `No ${what} "${id}" exists for this API key.${hint}`, param);
}

/** Turns zod issues from request validation into one message that names the field and what it should be. */
export function validationError(error: z.ZodError, target: string): ApiError {
  const where = { json: 'request body', query: 'query string', param: 'URL path', header: 'headers', form: 'form data' }[target] ?? target;
  const { code, message, param } = describeIssues(error, `the ${where}`);
  return new ApiError(400, code, message, param);
}

export function errorResponse(c: Context, err: ApiError): Response {
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.json(errorBody(err.status, err.code, err.message, err.param), err.status);
}

/** The app's onError: known errors become their 4xx; anything else is a logged 500. */
export function handleError(err: Error, c: Context): Response {
  if (err instanceof ApiError) return errorResponse(c, err);
  // Bad files and configs from the shared format checks: the user's input, so a 4xx with the check's own words.
  if (err instanceof InvalidInputError) return errorResponse(c, new ApiError(400, err.code, err.message, err.param ?? null));
  if (err instanceof HTTPException) return errorResponse(c, fromHttpException(err));
  console.error('unhandled error', c.req.method, c.req.path, err);
  return c.json(
    errorBody(500, 'internal_error', 'The server failed on this request; it is not your input. Retry, and report it if it persists.'),
    500,
  );
}

function fromHttpException(err: HTTPException): ApiError {
  switch (err.status) {
    case 400:
      if (/malformed json/i.test(err.message)) {
        return new ApiError(
          400,
          'invalid_json',
          'The request body is not valid JSON; send one JSON object (check quotes, commas and brackets).',
        );
      }
      return new ApiError(400, 'invalid_body', `The request body could not be read: ${err.message}.`);
    case 413:
      return new ApiError(413, 'body_too_large', err.message || 'The request body is too large.');
    case 415:
      return new ApiError(
        415,
        'unsupported_media_type',
        'Unsupported Content-Type: send the body as JSON with "Content-Type: application/json" (POST /v1/files takes multipart/form-data).',
      );
    default:
      return new ApiError(err.status as ContentfulStatusCode, 'http_error', err.message || `HTTP ${err.status}.`);
  }
}
