/**
 * The typed client of rankgate's public API the commands share: openapi-fetch over the generated types, so a
 * path, a body or an answer that does not match openapi.yaml fails the type-check. A non-2xx answer becomes a
 * CliError carrying the API's own message; an endpoint that cannot be reached becomes one naming the URL.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './api-types.ts';
import { CliError } from './errors.ts';

export type Schemas = components['schemas'];
export type ApiClient = ReturnType<typeof createClient<paths>>;

export interface Connection {
  baseUrl: string;
  apiKey: string;
}

export function apiClient(conn: Connection): ApiClient {
  const client = createClient<paths>({
    baseUrl: conn.baseUrl,
    headers: { authorization: `Bearer ${conn.apiKey}` },
    fetch: (req) => reach(conn.baseUrl, req),
  });
  return client;
}

/** fetch, with a refused or unresolvable connection said as one line that names the endpoint and how to change it. */
export async function reach(baseUrl: string, input: Request | string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(input, init);
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const why = cause instanceof Error ? ((cause as { code?: string }).code ?? cause.message) : String(cause);
    throw new CliError(`cannot reach ${baseUrl} (${why}); check --base-url or RANKGATE_BASE_URL`);
  }
}

/**
 * The answer's data, or a CliError with the API's message (OpenAI's error shape: `{ error: { message, code } }`).
 * `what` says what was being done, for answers that carry no message of their own.
 */
export function unwrap<T>(answer: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (answer.error === undefined && answer.data !== undefined) return answer.data;
  throw apiError(answer.response, answer.error, what);
}

export function apiError(response: Response, body: unknown, what: string): CliError {
  const error = (body as { error?: { message?: unknown; code?: unknown } } | undefined)?.error;
  const message = typeof error?.message === 'string' ? error.message : `${what}: HTTP ${response.status} ${response.statusText}`.trim();
  const code = typeof error?.code === 'string' ? error.code : null;
  return new CliError(code ? `${message} (${code})` : message, 1, response.status);
}
