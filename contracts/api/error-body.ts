/**
 * The error body both the edge and the backends answer with, OpenAI's `{"error": {"message", "type", "code",
 * "param"}}`: the edge passes a backend's 4xx through to the client as it is, so both must write the same one.
 */
import { z } from '@hono/zod-openapi';

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  411: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  502: 'backend_error',
  503: 'service_unavailable_error',
};

export function errorBody(status: number, code: string, message: string, param: string | null = null) {
  return { error: { message, type: TYPE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'), code, param } };
}

export const ErrorResponse = z
  .object({
    error: z.object({
      message: z.string().openapi({ description: 'What went wrong and what to change.' }),
      type: z.string(),
      code: z.string().nullable(),
      param: z.string().nullable(),
    }),
  })
  .openapi('Error');
