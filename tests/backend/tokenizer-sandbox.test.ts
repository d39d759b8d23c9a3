/**
 * A base model's tokenizer files as serving runs them (formats/served-tokenizer.ts): tokenizing and chat templates in
 * a process of their own per model, with a deadline and a heap cap, so a tenant's hostile tokenizer.json or template
 * is cut off with a 4xx naming the file, while this process (standing for the backend) and other models go on.
 * Short limits keep the cut-offs quick.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { MAX_RENDERED_PROMPT_BYTES } from '../../contracts/api/openai.ts';
import { TransientFailure } from '../../contracts/formats/errors.ts';
import { encodeDataset } from '../../gpu-backend/train/data.ts';
import { ServedTokenizer } from '../../gpu-backend/formats/served-tokenizer.ts';
import { TextTokenizer } from '../../gpu-backend/formats/tokenizer.ts';
import type { TokenizerLimits } from '../../gpu-backend/formats/tokenizer-sandbox.ts';
import { BACKTRACKING_TEXT, HOSTILE, type TokenizerFiles } from './hostile-tokenizers.ts';

const LIMITS: TokenizerLimits = { deadlineMs: 2000, memoryMb: 32 };
const CHAT = [{ role: 'user', content: 'upper: red' }];
/** 'fine' in the default model's character-level vocabulary. */
const FINE = [77, 80, 85, 76];

const made: string[] = [];
const loaded: ServedTokenizer[] = [];
afterAll(async () => {
  await Promise.all(loaded.map((t) => t.close()));
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function folder(files: TokenizerFiles): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rankgate-sandbox-'));
  made.push(dir);
  await writeFile(join(dir, 'tokenizer.json'), files.tokenizer);
  await writeFile(join(dir, 'tokenizer_config.json'), files.config);
  return dir;
}

async function served(files: TokenizerFiles): Promise<ServedTokenizer> {
  const tok = await ServedTokenizer.load(await folder(files), LIMITS);
  loaded.push(tok!);
  return tok!;
}

/** The 4xx a call fails with: its code and message. */
const refusal = (call: Promise<unknown>) =>
  call.then(
    () => ({ code: 'none', message: 'it succeeded' }),
    (err) => ({ code: err.code, message: String(err.message), param: err.param }),
  );

describe('the sandbox serves what the in-process tokenizer does', () => {
  test('the same ids (short and long texts) and the same rendered chat', async () => {
    const dir = await folder(HOSTILE.good);
    const [sandboxed, inProcess] = [await ServedTokenizer.load(dir, LIMITS), await TextTokenizer.load(dir)];
    loaded.push(sandboxed!);
    const long = '<|user|>wind gold milk rain\n'.repeat(2000);
    for (const [text, special] of [
      ['add: 12+30\n', false],
      ['<|user|>hi', true],
      [long, true],
      ['', false],
    ] as const)
      expect(await sandboxed!.encode(text, special)).toEqual(inProcess.encode(text, special));
    expect(await sandboxed!.applyChatTemplate(CHAT, true)).toBe(inProcess.applyChatTemplate(CHAT, true));
    expect([sandboxed!.bosId, sandboxed!.eosId, sandboxed!.longestTokenBytes]).toEqual([1, 2, inProcess.longestTokenBytes]);
    expect(sandboxed!.decode(inProcess.encode('ok</s>'))).toBe('ok');
  });

  test('a folder without tokenizer.json has no tokenizer', async () => {
    expect(await ServedTokenizer.load(join(tmpdir(), 'rankgate-no-such-folder'), LIMITS)).toBeNull();
  });
});

describe('tokenizer.json', () => {
  test("a pre-tokenizer pattern that backtracks is cut off at the deadline, and the model's next text is served", async () => {
    const hostile = await served(HOSTILE.backtrackingSplit);
    const other = await served(HOSTILE.good);
    const settled: string[] = [];
    const cutOff = refusal(hostile.encode(BACKTRACKING_TEXT, true)).finally(() => settled.push('hostile'));
    const meanwhile = other.encode('fine', true).finally(() => settled.push('other'));
    expect(await meanwhile).toEqual(FINE);
    const err = await cutOff;
    // Another model's tokenizer answered while the hostile one was still running.
    expect(settled).toEqual(['other', 'hostile']);
    expect(err).toMatchObject({ code: 'bad_tokenizer', param: 'model' });
    expect(err.message).toContain('tokenizer.json ran longer than the 2000 ms a tokenizer may take to tokenize this text');
    // A fresh process took the killed one's place.
    expect(await hostile.encode('fine', true)).toEqual(FINE);
  });

  test('calls sent behind one that is cut off go to the next process, each with a deadline of its own', async () => {
    const hostile = await served(HOSTILE.backtrackingSplit);
    const calls = [
      hostile.encode(BACKTRACKING_TEXT, true),
      hostile.encode('fine', true),
      hostile.encode(BACKTRACKING_TEXT, true),
      hostile.encode('fine'),
    ];
    const [first, second, third, fourth] = await Promise.allSettled(calls);
    expect([first.status, third.status]).toEqual(['rejected', 'rejected']);
    expect([second, fourth]).toEqual([
      { status: 'fulfilled', value: FINE },
      { status: 'fulfilled', value: FINE },
    ]);
  });

  test.each([
    ['notJson', 'tokenizer.json is not valid JSON'],
    ['noModel', 'tokenizer.json cannot be loaded (Tokenizer must contain a "model" property)'],
    ['configNotJson', 'tokenizer_config.json is not valid JSON'],
    ['regexDecoder', 'tokenizer.json has a decoder with a regular expression'],
  ] as const)('%s: text and chat are refused, naming the file', async (name, says) => {
    const tok = await served(HOSTILE[name]);
    for (const call of [tok.encode('hi'), tok.applyChatTemplate(CHAT, true)]) {
      const err = await refusal(call);
      expect(err.code).toBe('bad_tokenizer');
      expect(err.message).toContain(says);
    }
  });
});

describe('a process that stops for a reason its files do not explain', () => {
  /** The sandbox processes this test process forked (one per loaded model). */
  const sandboxPids = () =>
    execFileSync('pgrep', ['-P', String(process.pid), '-f', 'tokenizer-sandbox-process'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);

  test("is our retryable failure, not a 4xx blaming the tenant's tokenizer.json; the next call is served", async () => {
    const tok = await served(HOSTILE.backtrackingSplit);
    const before = new Set(sandboxPids());
    const running = tok.encode(BACKTRACKING_TEXT, true).then(
      () => 'it succeeded',
      (err) => err,
    );
    // Killed from outside (an OOM killer, an operator), well before its deadline.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const pid of before) process.kill(pid, 'SIGKILL');
    const err = await running;
    expect(err).toBeInstanceOf(TransientFailure);
    expect(err).toMatchObject({ code: 'tokenizer_restarted' });
    expect(await tok.encode('fine', true)).toEqual(FINE);
  });
});

describe('the chat template', () => {
  test.each([
    ['loopingTemplate', 'ran longer than the 2000 ms a template may take to render a one-message conversation'],
    ['hugeRangeTemplate', 'needed more than the 32 MiB of memory a template may use to render a one-message conversation'],
    ['recursiveTemplate', 'could not render a one-message conversation (Maximum call stack size exceeded)'],
    ['syntaxErrorTemplate', 'has a syntax error'],
  ] as const)('%s: found when the model loads; chat is refused, naming the template, and text is still served', async (name, says) => {
    const tok = await served(HOSTILE[name]);
    const err = await refusal(tok.applyChatTemplate(CHAT, true));
    expect(err).toMatchObject({ code: 'bad_chat_template', param: 'messages' });
    expect(err.message).toContain('chat template (chat_template in tokenizer_config.json)');
    expect(err.message).toContain(says);
    expect(await tok.encode('fine', true)).toEqual(FINE);
  });

  test('a rendered conversation over MAX_RENDERED_PROMPT_BYTES is refused; a short one renders', async () => {
    const tok = await served(HOSTILE.repeatingTemplate);
    expect(await tok.applyChatTemplate([{ role: 'user', content: 'ab' }], true)).toBe('ab'.repeat(200));
    const content = 'x'.repeat(Math.ceil(MAX_RENDERED_PROMPT_BYTES / 200) + 1);
    const err = await refusal(tok.applyChatTemplate([{ role: 'user', content }], true));
    expect(err.code).toBe('bad_chat_template');
    expect(err.message).toContain(
      `rendered ${200 * content.length} bytes for these messages, more than the ${MAX_RENDERED_PROMPT_BYTES} bytes`,
    );
  });
});

describe('training files', () => {
  const chats = [
    {
      messages: [
        { role: 'user', content: 'upper: red' },
        { role: 'assistant', content: 'RED' },
      ],
    },
    { prompt: 'add: 1+2', completion: '3' },
  ]
    .map((line) => JSON.stringify(line))
    .join('\n');

  test('are encoded through the sandbox to the same examples as in process', async () => {
    const dir = await folder(HOSTILE.good);
    const sandboxed = (await ServedTokenizer.load(dir, LIMITS))!;
    loaded.push(sandboxed);
    expect(await encodeDataset(chats, sandboxed, 64)).toEqual(await encodeDataset(chats, await TextTokenizer.load(dir), 64));
  });

  test("with a hostile chat template fail with 400 bad_chat_template, not on the backend's thread", async () => {
    const tok = await served(HOSTILE.loopingTemplate);
    await expect(encodeDataset(chats, tok, 64)).rejects.toMatchObject({ code: 'bad_chat_template' });
  });
});
