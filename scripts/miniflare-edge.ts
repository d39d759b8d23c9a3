/**
 * Serves the edge Worker's bundle (what `wrangler deploy --dry-run --outdir` writes) through Miniflare directly,
 * for the local stack (scripts/edge-stack.ts runs this in its own process group, as it runs `wrangler dev`).
 *
 * Why not `wrangler dev`: its ProxyWorker (in wrangler's Node process) forwards each request to workerd over a
 * pooled connection, and both ends close idle connections after the same 5 s, so under load a request can be
 * sent on a connection just as it closes; wrangler then answers 503 "Your worker restarted mid-request"
 * (cloudflare/workers-sdk#14641, fixed in wranglers that need Node 22). Miniflare's own socket is workerd's,
 * so there is no connection in between to lose.
 *
 * Settings come from wrangler.toml (compatibility, [vars], the D1 binding) read by wrangler itself, and from
 * MINIFLARE_EDGE (JSON, below) for what the stack adds. Miniflare is the one wrangler depends on (same workerd
 * as `wrangler dev`; the top-level miniflare belongs to vitest-pool-workers and needs Node 22).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unstable_readConfig } from 'wrangler';
import type * as MiniflareModule from '../node_modules/wrangler/node_modules/miniflare/dist/src/index.js';

export interface MiniflareEdgeSettings {
  /** The folder `wrangler deploy --dry-run --outdir` wrote (index.js). */
  bundleDir: string;
  /** The folder given to `wrangler d1 migrations apply --local --persist-to`: the same D1 files. */
  persistTo: string;
  host: string;
  port: number;
  /** Vars on top of wrangler.toml's [vars]. */
  vars: Record<string, string>;
}

const root = fileURLToPath(new URL('..', import.meta.url));
/** wrangler.toml's [[d1_databases]] entry (wrangler's own type does not resolve from here). */
interface D1Binding {
  binding: string;
  database_id?: string;
  preview_database_id?: string;
}

const settings = JSON.parse(process.env.MINIFLARE_EDGE ?? 'null') as MiniflareEdgeSettings | null;
if (!settings) throw new Error('MINIFLARE_EDGE (JSON settings) is not set; scripts/edge-stack.ts starts this');

const { Miniflare, Log, LogLevel } = createRequire(join(root, 'node_modules', 'wrangler', 'package.json'))(
  'miniflare',
) as typeof MiniflareModule;
const config = unstable_readConfig({ config: join(root, 'wrangler.toml') }, { hideWarnings: true });

const mf = new Miniflare({
  host: settings.host,
  port: settings.port,
  // Request lines and uncaught errors, as wrangler dev prints them (edge.log).
  log: new Log(LogLevel.INFO),
  modules: true,
  scriptPath: join(settings.bundleDir, 'index.js'),
  // Module names are paths relative to this; the default (the working directory) would name the bundle "../…".
  modulesRoot: settings.bundleDir,
  compatibilityDate: config.compatibility_date,
  compatibilityFlags: config.compatibility_flags,
  bindings: { ...(config.vars as Record<string, string>), ...settings.vars },
  // wrangler dev and `d1 migrations apply --local` key each database by preview_database_id ?? database_id under
  // <persist-to>/v3/d1, so this opens the database the migrations filled.
  d1Databases: Object.fromEntries(
    config.d1_databases.map((d: D1Binding) => [d.binding, d.preview_database_id ?? d.database_id ?? d.binding]),
  ),
  d1Persist: join(settings.persistTo, 'v3', 'd1'),
});
const url = await mf.ready;
console.log(`[miniflare-edge] serving ${settings.bundleDir} on ${url}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await mf.dispose();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
