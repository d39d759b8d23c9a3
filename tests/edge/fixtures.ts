/** The tiny-llama fixtures as global-setup.ts put them in the bucket, and the steps tests repeat with them. */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { DEFAULT_QUANTIZATION_GROUP_SIZE } from '../../contracts/api/jobs.ts';
import { ObjectStore } from '../../contracts/storage/object-store.ts';
import { call, expectJson } from './api.ts';

export const store = new ObjectStore({
  endpoint: env.S3_ENDPOINT,
  bucket: env.S3_BUCKET,
  accessKeyId: env.S3_ACCESS_KEY_ID,
  secretAccessKey: env.S3_SECRET_ACCESS_KEY,
});

export const TINY_LLAMA_PREFIX = 'models/tiny-llama/';
export type Task = 'task_a' | 'task_b' | 'task_c';

export async function fixtureFile(task: Task, file: 'adapter_config.json' | 'adapter_model.safetensors'): Promise<Uint8Array> {
  const bytes = await store.getBytes(`fixtures/adapters/${task}/${file}`);
  if (!bytes) throw new Error(`fixture ${task}/${file} missing from the bucket; global-setup.ts uploads it`);
  return bytes;
}

export async function registerBase(key: string, name = 'tiny-llama', prefix = TINY_LLAMA_PREFIX) {
  return expectJson('/v1/base-models', { key, body: { name, storage_prefix: prefix } }, 201);
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export interface AdapterFiles {
  config: Uint8Array;
  model: Uint8Array;
}

export async function fixtureAdapter(task: Task): Promise<AdapterFiles> {
  return { config: await fixtureFile(task, 'adapter_config.json'), model: await fixtureFile(task, 'adapter_model.safetensors') };
}

/** Creates an adapter and uploads its files (presigned PUTs or through the edge); returns the creation answer. */
export async function startUpload(
  key: string,
  base: string,
  name: string,
  files: AdapterFiles,
  opts: { via?: 'presigned' | 'edge'; declare?: AdapterFiles; withSha?: boolean } = {},
) {
  const declared = opts.declare ?? files;
  const created = await expectJson(
    '/v1/adapters',
    {
      key,
      body: {
        name,
        base_model: base,
        files: [
          { filename: 'adapter_config.json', bytes: declared.config.byteLength },
          {
            filename: 'adapter_model.safetensors',
            bytes: declared.model.byteLength,
            ...(opts.withSha ? { sha256: await sha256Hex(declared.model) } : {}),
          },
        ],
      },
    },
    201,
  );
  return created;
}

export async function putFile(key: string, created: any, filename: string, bytes: Uint8Array, via: 'presigned' | 'edge' = 'presigned') {
  const target = created.upload.files.find((f: any) => f.filename === filename);
  if (via === 'presigned') {
    const res = await fetch(target.presigned.url, { method: 'PUT', headers: target.presigned.headers, body: bytes });
    expect(res.status).toBe(200);
  } else {
    const res = await call(new URL(target.edge.url).pathname, {
      method: 'PUT',
      key,
      body: bytes,
      headers: { 'content-length': String(bytes.byteLength) },
    });
    expect(res.status).toBe(200);
  }
}

/** Uploads both files and commits; returns the commit's response. */
export async function uploadAdapter(
  key: string,
  base: string,
  name: string,
  files: AdapterFiles,
  opts: { via?: 'presigned' | 'edge'; withSha?: boolean } = {},
) {
  const created = await startUpload(key, base, name, files, opts);
  await putFile(key, created, 'adapter_config.json', files.config, opts.via);
  await putFile(key, created, 'adapter_model.safetensors', files.model, opts.via);
  return call(`/v1/adapters/${created.adapter.id}/commit`, { key, method: 'POST' });
}

/** Writes an artifact as a backend publishes one: the files, then artifact.json listing them (contracts/formats/job-artifacts.ts). */
export async function publishArtifact(
  prefix: string,
  jobId: string,
  layout: string,
  files: [string, Uint8Array][],
  tamper?: (m: any) => void,
) {
  for (const [name, bytes] of files) await store.put(prefix + name, bytes);
  const manifest = {
    format: 'rankgate-artifact',
    version: 1,
    job_id: jobId,
    layout,
    files: await Promise.all(files.map(async ([name, bytes]) => ({ name, bytes: bytes.byteLength, sha256: await sha256Hex(bytes) }))),
  };
  tamper?.(manifest);
  await store.put(`${prefix}artifact.json`, JSON.stringify(manifest));
}

/** A succeeded quantization of base `baseId` (its artifact a stand-in: the edge checks the manifest, not the weights). */
export async function storedQuantization(
  key: string,
  baseId: string,
  bits: 4 | 8,
  claim: (kinds: string[]) => Promise<any>,
  complete: (id: string, body: Record<string, unknown>) => Promise<Response>,
) {
  const job = await expectJson(`/v1/base-models/${baseId}/quantizations`, { key, body: { bits } }, 202);
  for (;;) {
    const task = await claim(['quantization']);
    if (!task) throw new Error(`quantization ${job.id} was not claimable`);
    if (task.id !== job.id) continue;
    await publishArtifact(task.output_prefix, job.id, 'quantized_base', [['packed_weights.safetensors', new Uint8Array(16)]]);
    const res = await complete(job.id, { result: { bits, group_size: DEFAULT_QUANTIZATION_GROUP_SIZE, packed_bytes: 16 } });
    if (res.status !== 200) throw new Error(`completing quantization ${job.id}: ${res.status}`);
    return job;
  }
}
