import { expireUploads } from './adapters/expire.ts';
import { createApp } from './app.ts';
import { createDb } from './db.ts';
import type { Env } from './env.ts';
import { createStore } from './store.ts';

const app = createApp();

export default {
  fetch: app.fetch,
  /** The cron in wrangler.toml: uploads never committed in time are rejected and their objects deleted. */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(expireUploads(createDb(env.DB), createStore(env)));
  },
} satisfies ExportedHandler<Env>;
