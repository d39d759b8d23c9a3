/**
 * The backend process as server.ts starts it (real s3rver), serving base models whose tokenizer files are hostile or
 * broken: each is cut off or refused with a 400 naming the file, the backend goes on serving other models (and the
 * same model's text completions, when only its chat template is broken), and nothing answers 5xx or crashes.
 * TOKENIZER_DEADLINE_MS and TOKENIZER_MEMORY_MB are short here, so the cut-offs are quick.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { backendBucketEnv } from '../../scripts/edge-stack.ts';
import { ObjectStore } from '../../contracts/storage/object-store.ts';
import { configFromEnv, startBackend, type RunningBackend } from '../../gpu-backend/server.ts';
import { startLocalS3, type LocalS3 } from '../../gpu-backend/storage/local-s3rver.ts';
import { postSigned, testSigner } from './edge-signing.ts';
import { FIXTURE } from './helpers.ts';
import { BACKTRACKING_TEXT, HOSTILE } from './hostile-tokenizers.ts';

const BACKEND_ID = 'untrusted-tokenizer-backend';
type Model = keyof typeof HOSTILE;

let s3: LocalS3;
let stateDir: string;
let backend: RunningBackend;

beforeAll(async () => {
  s3 = await startLocalS3({ bucket: 'untrusted-tokenizer-test' });
  const store = new ObjectStore(s3.config);
  for (const [model, files] of Object.entries(HOSTILE)) {
    for (const file of await readdir(join(FIXTURE, 'base')))
      await store.put(`models/${model}/${file}`, await readFile(join(FIXTURE, 'base', file)));
    await store.put(`models/${model}/tokenizer.json`, files.tokenizer);
    await store.put(`models/${model}/tokenizer_config.json`, files.config);
  }
  stateDir = await mkdtemp(join(tmpdir(), 'rankgate-untrusted-tok-'));
  backend = await startBackend(
    configFromEnv({
      RANKGATE_LOCAL: '1',
      BACKEND_ID,
      EDGE_URL: 'http://127.0.0.1:9',
      EDGE_PUBLIC_KEY: (await testSigner).publicKey,
      ...backendBucketEnv({ s3 }),
      PORT: '0',
      CACHE_DIR: join(stateDir, 'cache'),
      TASK_POLL_MS: '60000',
      TOKENIZER_DEADLINE_MS: '2000',
      TOKENIZER_MEMORY_MB: '32',
    }),
  );
});

afterAll(async () => {
  await backend?.stop();
  await s3?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

async function complete(model: Model, kind: 'chat' | 'text', content: string, stream = false) {
  const path = kind === 'chat' ? '/v1/chat/completions' : '/v1/completions';
  const res = await postSigned(backend, path, {
    model,
    ...(kind === 'chat' ? { messages: [{ role: 'user', content }] } : { prompt: content }),
    max_tokens: 2,
    temperature: 0,
    stream,
    rankgate: {
      tenant_id: model === 'good' ? 'tenant_good' : 'tenant_hostile',
      target: {
        kind: 'base',
        base_model: { id: `base_${model}`, name: model, storage_prefix: `models/${model}/` },
        adapter: null,
        merge: null,
      },
    },
  });
  const text = await res.text();
  return { status: res.status, error: res.status === 200 ? null : (JSON.parse(text).error as { code: string; message: string }) };
}

describe('a tenant whose tokenizer.json backtracks', () => {
  test("is cut off with 400 bad_tokenizer at the deadline, while another tenant's model is served", async () => {
    // Both models loaded first: what is measured is tokenizing, not loading.
    expect((await complete('backtrackingSplit', 'text', 'hello')).status).toBe(200);
    expect((await complete('good', 'text', 'hello')).status).toBe(200);
    const settled: string[] = [];
    const hostile = complete('backtrackingSplit', 'text', BACKTRACKING_TEXT).finally(() => settled.push('hostile'));
    for (let i = 0; i < 3; i++) {
      expect((await complete('good', 'chat', `hello ${i}`)).status).toBe(200);
      settled.push('good');
    }
    const cutOff = await hostile;
    expect(settled).toEqual(['good', 'good', 'good', 'hostile']);
    expect(cutOff.status).toBe(400);
    expect(cutOff.error!.code).toBe('bad_tokenizer');
    expect(cutOff.error!.message).toContain('tokenizer.json ran longer than the 2000 ms');
    // The killed process was replaced: the same model serves its next prompt.
    expect((await complete('backtrackingSplit', 'text', 'hello')).status).toBe(200);
  });
});

describe('broken tokenizer files answer 400 naming the file, not "no tokenizer.json"', () => {
  test.each([
    ['notJson', 'tokenizer.json is not valid JSON'],
    ['noModel', 'tokenizer.json cannot be loaded'],
    ['configNotJson', 'tokenizer_config.json is not valid JSON'],
  ] as const)('%s', async (model, says) => {
    for (const kind of ['text', 'chat'] as const) {
      const res = await complete(model, kind, 'hello');
      expect(res.status).toBe(400);
      expect(res.error).toMatchObject({ code: 'bad_tokenizer' });
      expect(res.error!.message).toContain(says);
    }
  });
});

describe('a hostile or broken chat template', () => {
  test.each([
    ['loopingTemplate', 'ran longer than the 2000 ms'],
    ['hugeRangeTemplate', 'needed more than the 32 MiB of memory'],
    ['recursiveTemplate', 'Maximum call stack size exceeded'],
    ['syntaxErrorTemplate', 'has a syntax error'],
  ] as const)('%s: chat answers 400 bad_chat_template (streamed too), text completions are served', async (model, says) => {
    for (const stream of [false, true]) {
      const res = await complete(model, 'chat', 'hello', stream);
      expect(res.status).toBe(400);
      expect(res.error!.code).toBe('bad_chat_template');
      expect(res.error!.message).toContain(says);
    }
    expect((await complete(model, 'text', 'hello')).status).toBe(200);
    expect((await complete('good', 'chat', 'hello')).status).toBe(200);
  });

  test('that writes more than MAX_RENDERED_PROMPT_BYTES for long messages answers 400 bad_chat_template', async () => {
    const res = await complete('repeatingTemplate', 'chat', 'x'.repeat(8000));
    expect(res.status).toBe(400);
    expect(res.error!.code).toBe('bad_chat_template');
    expect(res.error!.message).toContain('rendered 1600000 bytes for these messages');
  });
});
