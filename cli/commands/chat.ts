/**
 * `rankgate chat --model <base:adapter> [--adapter name=weight …] [message]`: one user turn (the message, or stdin when none is given),
 * streamed: each chunk's text is written as it arrives. An error the server sends inside the stream ends the
 * command like an error answer.
 */
import { type ApiClient, apiError, type Schemas } from '../api.ts';
import { CliError } from '../errors.ts';

/**
 * The part of a streamed chunk read here. openapi.yaml describes the stream only as text (`data: <chunk JSON>`
 * events), so the chunk has no generated type; these are OpenAI's chat.completion.chunk fields.
 */
interface StreamChunk {
  choices?: { delta?: { content?: string | null } }[];
  error?: { message?: string; code?: string | null };
}

export interface ChatOptions {
  model: string;
  system?: string;
  maxTokens?: number;
  temperature?: number;
  /** `--adapter name=weight` (repeated): the adapters of the base in `model` to mix. */
  adapter?: { name: string; weight: number }[];
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function chat(api: ApiClient, words: string[], opts: ChatOptions): Promise<void> {
  const message = words.length ? words.join(' ') : await readStdin();
  if (!message.trim()) throw new CliError('nothing to send: give a message or pipe one on stdin', 2);
  const messages: Schemas['ChatCompletionRequest']['messages'] = [
    ...(opts.system ? [{ role: 'system' as const, content: opts.system }] : []),
    { role: 'user', content: message },
  ];
  const { data, error, response } = await api.POST('/v1/chat/completions', {
    body: {
      model: opts.model,
      adapters: opts.adapter,
      messages,
      max_tokens: opts.maxTokens,
      temperature: opts.temperature,
      stream: true,
    },
    parseAs: 'stream',
  });
  if (error !== undefined || !data) throw apiError(response, error, 'chat');
  await printStream(data);
}

/** Writes each chunk's text as it comes; ends with a newline once the stream says [DONE]. */
async function printStream(body: ReadableStream<Uint8Array>): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  let done = false;
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const data = buffer
        .slice(0, end)
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      buffer = buffer.slice(end + 2);
      if (!data) continue;
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      const chunk = JSON.parse(data) as StreamChunk;
      if (chunk.error) {
        process.stdout.write('\n');
        const code = chunk.error.code ? ` (${chunk.error.code})` : '';
        throw new CliError(`${chunk.error.message ?? 'the stream ended with an error'}${code}`);
      }
      const text = chunk.choices?.map((c) => c.delta?.content ?? '').join('') ?? '';
      if (text) process.stdout.write(text);
    }
  }
  process.stdout.write('\n');
  if (!done) throw new CliError('the stream ended before [DONE]; the answer above may be cut short');
}
