/**
 * Merges (POST /v1/merges) and compressions (POST /v1/compressions) of the trained adapters, each found by name
 * when an earlier run made it, and waited for until the backend has built it.
 */
import { type ApiClient, type Schemas, unwrap } from '../cli/api.ts';
import { CliError } from '../cli/errors.ts';
import { BASE_MODEL } from './training.ts';

type Merge = Schemas['Merge'];
type Compression = Schemas['Compression'];
type MergeRequest = Schemas['CreateMergeRequest'];
type CompressionRequest = Schemas['CreateCompressionRequest'];

const POLL_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T extends { status: string; error: { message: string; code: string } | null }>(
  what: string,
  read: () => Promise<T>,
): Promise<T> {
  for (;;) {
    const it = await read();
    if (it.status === 'succeeded') return it;
    if (it.status === 'failed')
      throw new CliError(`${what} failed: ${it.error?.message ?? 'no reason given'} (${it.error?.code ?? 'unknown'})`);
    await sleep(POLL_MS);
  }
}

/** The named merge of an earlier run unless it failed; otherwise a new one. Resolves once it succeeded. */
export async function merge(api: ApiClient, request: Omit<MergeRequest, 'base_model'>, existing: Merge[]): Promise<Merge> {
  const earlier = existing.find((m) => m.name === request.name && m.status !== 'failed');
  const started =
    earlier ?? unwrap(await api.POST('/v1/merges', { body: { ...request, base_model: BASE_MODEL } }), `creating the merge ${request.name}`);
  return until(`the merge ${request.name}`, async () =>
    unwrap(await api.GET('/v1/merges/{id}', { params: { path: { id: started.id } } }), 'reading the merge'),
  );
}

export async function compress(
  api: ApiClient,
  request: CompressionRequest & { name: string },
  existing: Compression[],
): Promise<Compression> {
  const earlier = existing.find((c) => c.name === request.name && c.status !== 'failed');
  const started = earlier ?? unwrap(await api.POST('/v1/compressions', { body: request }), `compressing into ${request.name}`);
  return until(`the compression ${request.name}`, async () =>
    unwrap(await api.GET('/v1/compressions/{id}', { params: { path: { id: started.id } } }), 'reading the compression'),
  );
}

/** `<base>:<merge>`: a collapsed merge as one model, or a reversible merge's mean model. */
export const mergeModel = (m: Merge) => m.model ?? `${BASE_MODEL}:${m.name}`;
/** `<base>:<merge>/<task>`: one member task rebuilt from a reversible merge. */
export const mergeTaskModel = (m: Merge, adapterName: string) => `${mergeModel(m)}/${adapterName}`;
export const compressionModel = (c: Compression) => `${BASE_MODEL}:${c.name}`;
