import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { sha256Hex } from '../../contracts/api/shared-secret.ts';
import { TEST_BACKEND_ID, TEST_BACKEND_SECRET } from './secrets.ts';

// Each test file gets its own D1 storage; bring it to the schema in migrations/ first.
await applyD1Migrations(env.DB, env.MIGRATIONS);
// One backend credential known in advance, as an operator would have issued it (others are issued per test through the admin route).
await env.DB.prepare('insert or ignore into backend_credentials (id, backend_id, token_hash, prefix, created_at) values (?, ?, ?, ?, ?)')
  .bind('bcred-test', TEST_BACKEND_ID, await sha256Hex(TEST_BACKEND_SECRET), TEST_BACKEND_SECRET.slice(0, 10), 0)
  .run();
