/**
 * `rankgate embed --model <model> [--pooling mean|last] [--adapter name=weight …] [text …]`: one embedding per
 * text argument (or per line of stdin when none is given), printed as the API's JSON answer.
 */
import { type ApiClient, apiError } from '../api.ts';
import { CliError } from '../errors.ts';
import { printJson } from '../output.ts';

export interface EmbedOptions {
  model: string;
  pooling?: 'mean' | 'last';
  /** `--adapter name=weight` (repeated): the adapters of the base in `model` to mix. */
  adapter?: { name: string; weight: number }[];
}

async function stdinLines(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

export async function embed(api: ApiClient, texts: string[], opts: EmbedOptions): Promise<void> {
  const input = texts.length ? texts : await stdinLines();
  if (input.length === 0) throw new CliError('nothing to embed: give texts as arguments or one per line on stdin', 2);
  const { data, error, response } = await api.POST('/v1/embeddings', {
    body: { model: opts.model, input, pooling: opts.pooling, adapters: opts.adapter, encoding_format: 'float' },
  });
  if (error !== undefined || !data) throw apiError(response, error, 'embed');
  printJson(data);
}
