/**
 * A local S3-compatible server (s3rver) for tests and the local stack. Node only: the edge never imports it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { ObjectStoreConfig } from '../../contracts/storage/object-store.ts';

export interface LocalS3 {
  config: ObjectStoreConfig;
  stop(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1 (port 0 picks a free one) with `bucket` created; files live in `directory`. */
export async function startLocalS3(opts: { bucket: string; port?: number; directory?: string }): Promise<LocalS3> {
  const directory = opts.directory ?? (await mkdtemp(join(tmpdir(), 'rankgate-s3-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port ?? 0,
    directory,
    silent: true,
    configureBuckets: [{ name: opts.bucket }],
  });
  const { port } = (await server.run()) as { port: number };
  return {
    config: { endpoint: `http://127.0.0.1:${port}`, bucket: opts.bucket, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async stop() {
      await server.close();
      if (!opts.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}
