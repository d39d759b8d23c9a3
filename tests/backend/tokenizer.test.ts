import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { longestToken, TextTokenizer } from '../../gpu-backend/formats/tokenizer.ts';
import { tokenizerConfigJson, tokenizerJson } from '../../gpu-backend/default-model/tokenizer-files.ts';

const made: string[] = [];
afterAll(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

async function tokenizerDir(config: Record<string, unknown> = tokenizerConfigJson()): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rankgate-tok-'));
  made.push(dir);
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

describe('tokenizer.json through @huggingface/tokenizers', () => {
  test('round-trips text, maps special tokens written in text, and knows bos/eos', async () => {
    const tok = await TextTokenizer.load(await tokenizerDir());
    const ids = tok.encode('add: 12+30\n');
    expect(tok.decode(ids)).toBe('add: 12+30\n');
    expect(tok.encode('<|user|>hi')).toEqual([5, ...tok.encode('hi')]);
    expect([tok.bosId, tok.eosId]).toEqual([1, 2]);
    expect(tok.decode([...tok.encode('ok'), 2])).toBe('ok');
    expect(tok.decode([...tok.encode('ok'), 2], false)).toBe('ok</s>');
  });

  test('no tokens decode to the empty string, and empty text or an empty chat encodes without throwing', async () => {
    const tok = await TextTokenizer.load(await tokenizerDir());
    expect(tok.decode([])).toBe('');
    expect(tok.decode([], false)).toBe('');
    expect(tok.decode([2])).toBe('');
    expect(tok.encode('')).toEqual([]);
    expect(tok.encode('', true)).toEqual([]);
    expect(tok.encode(tok.applyChatTemplate([{ role: 'user', content: '' }], true))).toEqual([5, 2, 6]);
  });

  test('renders the chat template, with and without the generation prompt', async () => {
    const tok = await TextTokenizer.load(await tokenizerDir());
    const messages = [{ role: 'user', content: 'upper: red' }];
    expect(tok.applyChatTemplate(messages, true)).toBe('<|user|>upper: red</s><|assistant|>');
    expect(tok.applyChatTemplate([...messages, { role: 'assistant', content: 'RED' }], false)).toBe(
      '<|user|>upper: red</s><|assistant|>RED</s>',
    );
  });

  test('a model without a chat template gets a plain role: content layout', async () => {
    const { chat_template: _, ...rest } = tokenizerConfigJson();
    const tok = await TextTokenizer.load(await tokenizerDir(rest));
    expect(tok.hasChatTemplate).toBe(false);
    expect(tok.applyChatTemplate([{ role: 'user', content: 'hi' }], true)).toBe('user: hi\nassistant: ');
  });

  test('the longest token bounds the bytes one token covers', async () => {
    const tok = await TextTokenizer.load(await tokenizerDir());
    expect(tok.longestTokenBytes).toBe('<|assistant|>'.length);
    expect(tok.maxBytesFor(10)).toBe(130);
    expect(
      longestToken({
        model: {
          type: 'Unigram',
          vocab: [
            ['▁hello', -1],
            ['a', -2],
          ],
        },
      }),
    ).toBe(8);
    expect(longestToken({ model: { type: 'WordPiece', vocab: { a: 0 } } })).toBe(Number.POSITIVE_INFINITY);
  });

  test('a folder without tokenizer.json is a clear error', async () => {
    await expect(TextTokenizer.load(tmpdir() + '/does-not-exist')).rejects.toMatchObject({ code: 'missing_tokenizer' });
  });
});
