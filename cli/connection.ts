/** Where the API is and whose key to use: flags first, then RANKGATE_BASE_URL / RANKGATE_API_KEY. */
import type { Connection } from './api.ts';
import { CliError, USAGE_EXIT } from './errors.ts';

/** The local stack's edge (`npm start`). */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8787';

export function connection(flags: { baseUrl?: string; apiKey?: string }, env: NodeJS.ProcessEnv = process.env): Connection {
  const raw = flags.baseUrl ?? env.RANKGATE_BASE_URL ?? DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`the base URL ${JSON.stringify(raw)} is not a URL; pass --base-url like ${DEFAULT_BASE_URL}`, USAGE_EXIT);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`the base URL ${raw} must be http: or https:`, USAGE_EXIT);
  const apiKey = flags.apiKey ?? env.RANKGATE_API_KEY;
  if (!apiKey) throw new CliError('no API key: pass --api-key or set RANKGATE_API_KEY', USAGE_EXIT);
  // OpenAI clients take the URL with /v1; the API's paths carry it already.
  const baseUrl = url.href.replace(/\/+$/, '').replace(/\/v1$/, '');
  return { baseUrl, apiKey };
}
