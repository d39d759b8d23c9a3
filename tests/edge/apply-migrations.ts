import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

// Each test file gets its own D1 storage; bring it to the schema in migrations/ first.
await applyD1Migrations(env.DB, env.MIGRATIONS);
