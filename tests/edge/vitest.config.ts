/**
 * The edge's tests run inside workerd (the Workers runtime) against real D1 with migrations/ applied and a
 * real S3-compatible server (s3rver) on loopback, started by global-setup.ts in Node.
 */
import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineProject } from 'vitest/config';

import { TEST_ADMIN_TOKEN, TEST_EDGE_SIGNING_KEY } from './secrets.ts';

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

export default defineProject({
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      main: root('edge/index.ts'),
      wrangler: { configPath: root('wrangler.toml') },
      miniflare: {
        bindings: {
          MIGRATIONS: await readD1Migrations(root('migrations')),
          S3_ENDPOINT: inject<string>('s3Endpoint'),
          S3_BUCKET: inject<string>('s3Bucket'),
          S3_ACCESS_KEY_ID: 'S3RVER',
          S3_SECRET_ACCESS_KEY: 'S3RVER',
          ADMIN_TOKEN: TEST_ADMIN_TOKEN,
          EDGE_SIGNING_KEY: TEST_EDGE_SIGNING_KEY,
          // The stand-in backends listen on loopback; tests of the refusal turn this off per request.
          ALLOW_PRIVATE_BACKEND_URLS: 'true',
          // Tests age heartbeats and rows in D1 directly; request-caches.test.ts turns the caches on for itself.
          EDGE_CACHE_TTL_MS: '0',
          // Low enough that three fixture adapters (ranks 4, 8, 8) pass it: mixes.test.ts checks the refusal.
          MAX_MIX_RANK: '12',
          // pins.test.ts pins past it.
          MAX_PINNED_ADAPTERS: '2',
        },
      },
    })),
  ],
  resolve: {
    // Same stand-in as wrangler.toml's [alias]: workerd has no DOMParser for the SDK's browser XML parser.
    alias: [{ find: /^@aws-sdk\/xml-builder$/, replacement: root('contracts/storage/xml-builder-workerd.ts') }],
  },
  test: {
    name: 'edge',
    include: ['tests/edge/**/*.test.ts'],
    root: root(''),
    globalSetup: [root('tests/edge/global-setup.ts')],
    setupFiles: [root('tests/edge/apply-migrations.ts')],
  },
});
