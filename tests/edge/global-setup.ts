/**
 * Runs in Node before the workerd tests: starts s3rver on a free loopback port, puts the tiny-llama fixtures
 * in it (workerd tests cannot read the disk), starts the stand-in backends, and hands their addresses over.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startLocalS3 } from '../../gpu-backend/storage/local-s3rver.ts';
import { ObjectStore } from '../../contracts/storage/object-store.ts';
import { startFakeBackends } from './fake-backends.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/tiny-llama/', import.meta.url));

/** Where the fixtures land in the bucket (shared with the tests through fixtures.ts). */
async function uploadFixtures(store: ObjectStore) {
  for (const file of await readdir(join(FIXTURES, 'base'))) {
    await store.put(`models/tiny-llama/${file}`, await readFile(join(FIXTURES, 'base', file)));
  }
  for (const task of await readdir(join(FIXTURES, 'adapters'))) {
    for (const file of await readdir(join(FIXTURES, 'adapters', task))) {
      await store.put(`fixtures/adapters/${task}/${file}`, await readFile(join(FIXTURES, 'adapters', task, file)));
    }
  }
}

export default async function setup(project: TestProject) {
  const s3 = await startLocalS3({ bucket: 'rankgate-test' });
  await uploadFixtures(new ObjectStore(s3.config));
  const backends = await startFakeBackends(4);
  project.provide('s3Endpoint', s3.config.endpoint);
  project.provide('s3Bucket', s3.config.bucket);
  project.provide('fakeBackends', backends.urls);
  return async () => {
    await backends.stop();
    await s3.stop();
  };
}
