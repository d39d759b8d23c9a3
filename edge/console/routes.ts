/**
 * The web console: one HTML page, its script and its style, public like any static site. It holds no data
 * and has no route of its own: signed in with an API key, the page calls the public API like any client.
 * Not part of openapi.yaml (it is not API); tests/edge/openapi.test.ts leaves CONSOLE_PATH out on purpose.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { CONSOLE_SCRIPT } from './script.ts';
import { CONSOLE_STYLE } from './style.ts';
import { consolePage } from './page.ts';

export const CONSOLE_PATH = '/console';

/**
 * Scripts and styles only from this origin, and no inline ones: names and messages the API returns are shown
 * as text, and even one rendered as markup could not run. The page talks to its own origin only.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function asset(body: string, contentType: string): Response {
  return new Response(body, {
    headers: {
      'content-type': contentType,
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    },
  });
}

export const consoleRoutes = new Hono<AppEnv>()
  .get(CONSOLE_PATH, () => asset(consolePage(CONSOLE_PATH), 'text/html; charset=utf-8'))
  .get(`${CONSOLE_PATH}/console.js`, () => asset(CONSOLE_SCRIPT, 'text/javascript; charset=utf-8'))
  .get(`${CONSOLE_PATH}/console.css`, () => asset(CONSOLE_STYLE, 'text/css; charset=utf-8'));
