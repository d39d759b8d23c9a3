/**
 * `rankgate adapters upload|list|versions|promote|download|pin|unpin`: a PEFT folder (adapter_config.json + adapter_model.safetensors, as
 * save_pretrained writes them) goes straight to object storage through the presigned URLs the API hands out,
 * then is committed, which checks it against its base model; download fetches the same two files back.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type ApiClient, reach, type Schemas, unwrap } from '../api.ts';
import { CliError } from '../errors.ts';
import { humanBytes, printJson, printTable } from '../output.ts';

type PeftFile = Schemas['CreateAdapterRequest']['files'][number]['filename'];
const PEFT_FILES: PeftFile[] = ['adapter_config.json', 'adapter_model.safetensors'];

async function readPeftFolder(dir: string): Promise<Map<PeftFile, Uint8Array>> {
  const files = new Map<PeftFile, Uint8Array>();
  for (const filename of PEFT_FILES) {
    try {
      files.set(filename, new Uint8Array(await readFile(join(dir, filename))));
    } catch {
      throw new CliError(`${join(dir, filename)} cannot be read; an adapter folder holds ${PEFT_FILES.join(' and ')}`);
    }
  }
  return files;
}

/** The folder's name made into an adapter name the API takes (letters, digits, '.', '_', '-'). */
function nameFromFolder(dir: string): string {
  const name = basename(resolve(dir))
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  if (!name) throw new CliError(`cannot make an adapter name from ${dir}; pass --name`);
  return name;
}

export async function uploadAdapter(api: ApiClient, dir: string, opts: { base: string; name?: string }): Promise<void> {
  const files = await readPeftFolder(dir);
  const created = unwrap(
    await api.POST('/v1/adapters', {
      body: {
        name: opts.name ?? nameFromFolder(dir),
        base_model: opts.base,
        files: [...files].map(([filename, bytes]) => ({
          filename,
          bytes: bytes.byteLength,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        })),
      },
    }),
    'creating the adapter',
  );
  for (const target of created.upload.files) {
    const { url, method, headers } = target.presigned;
    // fetch sets Content-Length from the body itself and refuses one given by hand.
    const sent = Object.fromEntries(Object.entries(headers).filter(([h]) => h.toLowerCase() !== 'content-length'));
    const res = await reach(new URL(url).origin, url, { method, headers: sent, body: files.get(target.filename) });
    if (!res.ok) throw new CliError(`uploading ${target.filename} to storage: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  }
  const committed = unwrap(
    await api.POST('/v1/adapters/{id}/commit', { params: { path: { id: created.adapter.id } } }),
    'committing the adapter',
  );
  printJson(committed);
}

export async function listAdapters(api: ApiClient, opts: { json?: boolean }): Promise<void> {
  const all: Schemas['Adapter'][] = [];
  for (let after: string | undefined; ; ) {
    const page = unwrap(await api.GET('/v1/adapters', { params: { query: { limit: 100, after } } }), 'listing adapters');
    all.push(...page.data);
    if (!page.has_more || !page.last_id) break;
    after = page.last_id;
  }
  if (opts.json) return printJson(all);
  printTable(
    ['ID', 'MODEL', 'VERSION', 'STATUS', 'RANK', 'SIZE', 'SOURCE', 'PINNED'],
    all.map((a) => [
      a.id,
      a.model ?? `${a.base_model}:${a.name}`,
      `v${a.version}`,
      a.status,
      a.rank,
      humanBytes(a.size_bytes),
      a.source,
      a.pinned ? 'yes' : '',
    ]),
  );
}

/** The versions of one adapter name, newest first; `*` marks the one the bare name serves. */
export async function listVersions(api: ApiClient, name: string, opts: { json?: boolean }): Promise<void> {
  const all: Schemas['Adapter'][] = [];
  for (let after: string | undefined; ; ) {
    const page = unwrap(
      await api.GET('/v1/adapters/{id}/versions', { params: { path: { id: name }, query: { limit: 100, after } } }),
      'listing versions',
    );
    all.push(...page.data);
    if (!page.has_more || !page.last_id) break;
    after = page.last_id;
  }
  if (opts.json) return printJson(all);
  printTable(
    ['VERSION', 'CURRENT', 'ID', 'MODEL', 'STATUS', 'RANK', 'SOURCE', 'CREATED'],
    all.map((a) => [
      `v${a.version}`,
      a.current ? '*' : '',
      a.id,
      a.model ?? '',
      a.status,
      a.rank,
      a.source,
      new Date(a.created_at * 1000).toISOString().slice(0, 19).replace('T', ' '),
    ]),
  );
}

/** Makes one version the one its name serves (a rollback, or a roll forward). */
export async function promoteVersion(api: ApiClient, name: string, version: string): Promise<void> {
  const promoted = unwrap(
    await api.POST('/v1/adapters/{id}/versions/{version}/promote', { params: { path: { id: name, version } } }),
    'promoting the version',
  );
  printJson(promoted);
}

/** Pins (or unpins) an adapter; prints the adapter as the API answers it. */
export async function pinAdapter(api: ApiClient, id: string, pin: boolean): Promise<void> {
  const params = { params: { path: { id } } };
  const answer = pin ? await api.POST('/v1/adapters/{id}/pin', params) : await api.DELETE('/v1/adapters/{id}/pin', params);
  printJson(unwrap(answer, pin ? 'pinning the adapter' : 'unpinning the adapter'));
}

export async function downloadAdapter(api: ApiClient, id: string, opts: { out?: string }): Promise<void> {
  const download = unwrap(await api.GET('/v1/adapters/{id}/download', { params: { path: { id } } }), 'downloading the adapter');
  const out = resolve(opts.out ?? id);
  await mkdir(out, { recursive: true });
  for (const file of download.files) {
    const res = await reach(new URL(file.url).origin, file.url);
    if (!res.ok) throw new CliError(`downloading ${file.filename} from storage: HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength !== file.bytes)
      throw new CliError(`${file.filename} arrived with ${bytes.byteLength} bytes, the API said ${file.bytes}; download it again`);
    await writeFile(join(out, file.filename), bytes);
    process.stdout.write(`${join(out, file.filename)}  ${file.bytes} bytes\n`);
  }
}
