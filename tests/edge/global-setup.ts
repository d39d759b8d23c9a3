/** Runs in Node before the workerd tests: starts s3rver on a free loopback port and hands its address over. */
import type { TestProject } from 'vitest/node';
import { startLocalS3 } from '../../gpu-backend/storage/local-s3rver.ts';

export default async function setup(project: TestProject) {
  const s3 = await startLocalS3({ bucket: 'rankgate-test' });
  project.provide('s3Endpoint', s3.config.endpoint);
  project.provide('s3Bucket', s3.config.bucket);
  return () => s3.stop();
}
