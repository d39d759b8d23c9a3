/** `rankgate files upload <path>`: a JSONL training or validation file, sent as the API's multipart form. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { type ApiClient, unwrap } from '../api.ts';
import { CliError } from '../errors.ts';
import { printJson } from '../output.ts';

export async function uploadFile(api: ApiClient, path: string): Promise<void> {
  const bytes = await readFile(path).catch(() => {
    throw new CliError(`${path} cannot be read`);
  });
  const file = unwrap(
    await api.POST('/v1/files', {
      body: { file: basename(path), purpose: 'fine-tune' },
      bodySerializer: (form) => {
        const body = new FormData();
        body.set('purpose', form.purpose);
        body.set('file', new File([new Uint8Array(bytes)], form.file));
        return body;
      },
    }),
    'uploading the file',
  );
  printJson(file);
}
