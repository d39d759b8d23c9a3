/**
 * The `rankgate` CLI as a user runs it (a child process of bin/rankgate.js) against the real local stack:
 * adapters uploaded, listed and downloaded byte for byte; a training file, a job followed to its end and a job
 * cancelled; a streamed chat, with an adapter and with a mix of two; embeddings; merges and reverts printing the API's own answer or error; and the three ways a
 * call goes wrong before any work (a bad key, an unknown model, no endpoint) each said in one line.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { examples, TASKS } from '../../gpu-backend/default-model/skills.ts';
import { rng } from '../../gpu-backend/engine/sampling.ts';
import { root } from '../../scripts/edge-stack.ts';
import { FIXTURE, fixtureTenant, startStack, waitFor, type EdgeApi, type Stack, withStackLogs } from './stack.ts';

let stack: Stack;
let api: EdgeApi;
let work: string;

beforeAll(async () => {
  stack = await startStack({ leaseTtlS: 30 });
  api = await fixtureTenant(stack, 'cli');
  work = await mkdtemp(join(tmpdir(), 'rankgate-cli-'));
});

afterAll(async () => {
  await stack?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `rankgate <args>` with the tenant's endpoint and key in the environment (unless `env` says otherwise). */
function rankgate(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const { RANKGATE_BASE_URL: _u, RANKGATE_API_KEY: _k, ...inherited } = process.env;
  const child = spawn(process.execPath, [join(root, 'bin', 'rankgate.js'), ...args], {
    cwd: work,
    env: { ...inherited, RANKGATE_BASE_URL: stack.edge.edgeUrl, RANKGATE_API_KEY: api.key, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const withLogs = <T>(run: () => Promise<T>) => withStackLogs(stack, run);

function ok(run: Run): Run {
  expect(run, run.stderr).toMatchObject({ code: 0, stderr: '' });
  return run;
}

/** The one line the CLI prints for an API error: the API's message and code. */
async function apiErrorLine(res: Response): Promise<string> {
  const { error } = (await res.json()) as { error: { message: string; code: string | null } };
  return `rankgate: ${error.message}${error.code ? ` (${error.code})` : ''}\n`;
}

const upload = (task: string, name: string) =>
  rankgate(['adapters', 'upload', join(FIXTURE, 'adapters', task), '--base', 'tiny-llama', '--name', name]);

describe('adapters', () => {
  test('upload, list, and download gives back the same bytes', () =>
    withLogs(async () => {
      const adapter = JSON.parse(ok(await upload('task_a', 'cli-a')).stdout);
      expect(adapter).toMatchObject({ object: 'adapter', status: 'ready', model: 'tiny-llama:cli-a', source: 'upload' });

      const list = ok(await rankgate(['adapters', 'list'])).stdout.split('\n');
      expect(list[0]).toMatch(/^ID\s+MODEL\s+VERSION\s+STATUS\s+RANK\s+SIZE\s+SOURCE\s+PINNED$/);
      expect(list.find((l) => l.startsWith(adapter.id))).toMatch(/tiny-llama:cli-a\s+v1\s+ready\s+\d+\s+\S+ \w+\s+upload/);
      const listed = JSON.parse(ok(await rankgate(['adapters', 'list', '--json'])).stdout);
      expect(listed.map((a: any) => a.id)).toContain(adapter.id);

      const out = join(work, 'downloaded');
      ok(await rankgate(['adapters', 'download', adapter.id, '--out', out]));
      for (const file of ['adapter_config.json', 'adapter_model.safetensors'])
        expect(Buffer.compare(await readFile(join(out, file)), await readFile(join(FIXTURE, 'adapters', 'task_a', file)))).toBe(0);
    }));

  test('an upload to a name makes its next version; versions lists them and promote rolls the name back', () =>
    withLogs(async () => {
      const v1 = JSON.parse(ok(await upload('task_a', 'cli-v')).stdout);
      const v2 = JSON.parse(ok(await upload('task_b', 'cli-v')).stdout);
      expect(v2).toMatchObject({ name: 'cli-v', version: 2, current: true, model: 'tiny-llama:cli-v' });
      const table = ok(await rankgate(['adapters', 'versions', 'cli-v'])).stdout.split('\n');
      expect(table[0]).toMatch(/^VERSION\s+CURRENT\s+ID\s+MODEL\s+STATUS/);
      expect(table[1]).toMatch(new RegExp(`^v2\\s+\\*\\s+${v2.id}\\s+tiny-llama:cli-v\\s+ready`));
      expect(table[2]).toMatch(new RegExp(`^v1\\s+${v1.id}\\s+tiny-llama:cli-v@v1\\s+ready`));
      const promoted = JSON.parse(ok(await rankgate(['adapters', 'promote', 'cli-v', 'v1'])).stdout);
      expect(promoted).toMatchObject({ id: v1.id, version: 1, current: true });
      const run = await rankgate(['adapters', 'promote', 'cli-v', '9']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^rankgate: .*cli-v@v9.*\(adapter_not_found\)\n$/);
    }));

  test("a folder the API refuses ends with the API's reason", () =>
    withLogs(async () => {
      // task_a's files on a base model that does not exist.
      const run = await rankgate(['adapters', 'upload', join(FIXTURE, 'adapters', 'task_a'), '--base', 'no-such-base', '--name', 'x']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^rankgate: .*no-such-base.*\n$/);
    }));
});

describe('chat', () => {
  test('streams the answer of an adapter: the same text the API gives', () =>
    withLogs(async () => {
      const body = { model: 'tiny-llama:cli-a', messages: [{ role: 'user', content: 'upper: red fox' }], max_tokens: 12, temperature: 0 };
      const expected = (await api.json('/v1/chat/completions', { body })).choices[0].message.content;
      const run = ok(await rankgate(['chat', '--model', body.model, '--max-tokens', '12', '--temperature', '0', 'upper: red fox']));
      expect(run.stdout).toBe(`${expected}\n`);
    }));

  test('--adapter name=weight, repeated, mixes adapters: the same text the API gives for that mix', () =>
    withLogs(async () => {
      ok(await upload('task_b', 'cli-mix-b'));
      const adapters = [
        { name: 'cli-a', weight: 0.7 },
        { name: 'cli-mix-b', weight: -0.3 },
      ];
      const body = {
        model: 'tiny-llama',
        adapters,
        messages: [{ role: 'user', content: 'upper: red fox' }],
        max_tokens: 12,
        temperature: 0,
      };
      const expected = (await api.json('/v1/chat/completions', { body })).choices[0].message.content;
      const mix = ['--adapter', 'cli-a=0.7', '--adapter', 'cli-mix-b=-0.3'];
      const run = ok(
        await rankgate(['chat', '--model', 'tiny-llama', ...mix, '--max-tokens', '12', '--temperature', '0', 'upper: red fox']),
      );
      expect(run.stdout).toBe(`${expected}\n`);
      const bad = await rankgate(['chat', '--model', 'tiny-llama', '--adapter', 'cli-a', 'hello']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('expected <adapter>=<weight>');
    }));
});

describe('embed', () => {
  test("prints the API's embeddings of each text argument; --pooling last is another vector; a refusal is one line", () =>
    withLogs(async () => {
      const body = { model: 'tiny-llama:cli-a', input: ['upper: red fox', 'hello'] };
      const expected = await api.json('/v1/embeddings', { body });
      const run = ok(await rankgate(['embed', '--model', body.model, ...body.input]));
      expect(JSON.parse(run.stdout).data).toEqual(expected.data);
      const last = ok(await rankgate(['embed', '--model', body.model, '--pooling', 'last', 'hello']));
      expect(JSON.parse(last.stdout).data[0].embedding).not.toEqual(expected.data[1].embedding);
      const bad = await rankgate(['embed', '--model', 'tiny-llama:nope', 'hello']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^rankgate: .*nope.*\n$/);
    }));
});

describe('fine-tuning', () => {
  test('a file uploaded, a job created and watched to the end with its progress', () =>
    withLogs(async () => {
      const path = join(work, 'train.jsonl');
      await writeFile(
        path,
        `${examples(TASKS[0], 12, rng(1))
          .map((r) => JSON.stringify(r))
          .join('\n')}\n`,
      );
      const file = JSON.parse(ok(await rankgate(['files', 'upload', path])).stdout);
      expect(file).toMatchObject({ object: 'file', purpose: 'fine-tune', filename: 'train.jsonl' });

      const args = ['--model', 'tiny-llama', '--training-file', file.id, '--epochs', '2', '--batch-size', '4'];
      const job = JSON.parse(ok(await rankgate(['jobs', 'create', ...args, '--lora-r', '4', '--suffix', 'cli'])).stdout);
      expect(job).toMatchObject({ object: 'fine_tuning.job', hyperparameters: { n_epochs: 2, batch_size: 4, lora_r: 4 } });

      const watched = ok(await rankgate(['jobs', 'watch', job.id, '--interval', '250']));
      const bars = watched.stdout.split('\n').filter((l) => l.startsWith('['));
      expect(bars.length).toBeGreaterThan(0);
      for (const bar of bars) expect(bar).toMatch(/^\[[#-]{24}\] {2}step [1-6]\/6 {2}loss \d+\.\d{4} {2}\d+ tok\/s {2}ETA \d+:\d\d$/);
      expect(bars.at(-1)).toMatch(/^\[#{24}\] {2}step 6\/6 /);
      const done = await api.json(`/v1/fine_tuning/jobs/${job.id}`);
      expect(watched.stdout).toMatch(new RegExp(`succeeded: ${done.fine_tuned_model} \\(${done.trained_tokens} trained tokens\\)\\n$`));
    }));

  test('a cancelled job: cancel prints it, watch says so and exits 1', () =>
    withLogs(async () => {
      const form = new FormData();
      form.set('purpose', 'fine-tune');
      form.set(
        'file',
        new File(
          [
            examples(TASKS[1], 8, rng(2))
              .map((r) => JSON.stringify(r))
              .join('\n'),
          ],
          'long.jsonl',
        ),
      );
      const fileId = (await api.json('/v1/files', { body: form }, 201)).id;
      const job = await api.json(
        '/v1/fine_tuning/jobs',
        { body: { model: 'tiny-llama', training_file: fileId, hyperparameters: { n_epochs: 100 } } },
        201,
      );

      expect(JSON.parse(ok(await rankgate(['jobs', 'cancel', job.id])).stdout)).toMatchObject({ id: job.id, status: 'cancelled' });
      const watched = await rankgate(['jobs', 'watch', job.id]);
      expect(watched.code).toBe(1);
      expect(watched.stderr).toBe(`rankgate: job ${job.id} was cancelled\n`);
    }));
});

describe('merges', () => {
  test("create and revert print the API's answer, or its error with a matching exit code", () =>
    withLogs(async () => {
      ok(await upload('task_b', 'cli-b'));
      const created = await rankgate(['merges', 'create', 'cli-merge', 'cli-a', 'cli-b', '--base', 'tiny-llama', '--method', 'rmm_factor']);
      const merge = JSON.parse(ok(created).stdout);
      expect(merge).toMatchObject({
        object: 'merge',
        name: 'cli-merge',
        method: 'rmm_factor',
        members: [{ name: 'cli-a' }, { name: 'cli-b' }],
      });
      expect(await api.json(`/v1/merges/${merge.id}`)).toMatchObject({ id: merge.id, created_at: merge.created_at });

      // Whatever the backend makes of the merge, wait until it is settled, so the API answers the revert the same way twice.
      await waitFor(
        'the merge to settle',
        async () => {
          const now = await api.json(`/v1/merges/${merge.id}`);
          return now.status === 'succeeded' || now.status === 'failed' || Date.now() - merge.created_at * 1000 > 20_000 ? now : undefined;
        },
        60_000,
      );
      const reverted = await rankgate(['merges', 'revert', merge.id, 'cli-a']);
      if (reverted.code === 0) {
        const revert = JSON.parse(reverted.stdout);
        expect(revert).toMatchObject({ object: 'merge.revert', merge_id: merge.id, adapter: 'cli-a' });
        expect((await api.json(`/v1/merges/${merge.id}`)).reverts.map((r: any) => r.id)).toContain(revert.id);
      } else {
        const res = await api.fetch(`/v1/merges/${merge.id}/revert`, { body: { adapter: 'cli-a' } });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(reverted).toMatchObject({ code: 1, stdout: '', stderr: await apiErrorLine(res) });
      }

      // A task that is not in the merge: the API's 4xx, word for word.
      const unknown = await rankgate(['merges', 'revert', merge.id, 'cli-zzz']);
      const res = await api.fetch(`/v1/merges/${merge.id}/revert`, { body: { adapter: 'cli-zzz' } });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(unknown).toMatchObject({ code: 1, stdout: '', stderr: await apiErrorLine(res) });
    }));

  test("compress prints the queued compression, and the API's refusal of a bad request", () =>
    withLogs(async () => {
      const compression = JSON.parse(ok(await rankgate(['compress', 'cli-a', '--rank', '2', '--bits', '8'])).stdout);
      expect(compression).toMatchObject({ object: 'compression', rank: 2, bits: 8 });
      const refused = await rankgate(['compress', 'cli-a', '--bits', '3']);
      const res = await api.fetch('/v1/compressions', { body: { adapter: 'cli-a', bits: 3 } });
      expect(res.status).toBe(400);
      expect(refused).toMatchObject({ code: 1, stdout: '', stderr: await apiErrorLine(res) });
    }));
});

describe('a call that cannot be made says why in one line and exits non-zero', () => {
  test('a bad API key', async () => {
    const run = await rankgate(['adapters', 'list'], { RANKGATE_API_KEY: 'rg-not-a-key' });
    const res = await fetch(`${stack.edge.edgeUrl}/v1/adapters`, { headers: { authorization: 'Bearer rg-not-a-key' } });
    expect(res.status).toBe(401);
    expect(run).toMatchObject({ code: 1, stdout: '', stderr: await apiErrorLine(res) });
  });

  test('an unknown model', async () => {
    const run = await rankgate(['chat', '--model', 'tiny-llama:no-such-adapter', 'hello']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^rankgate: [^\n]*no-such-adapter[^\n]*\(model_not_found\)\n$/);
  });

  test('an endpoint nobody listens on', async () => {
    const port = await closedPort();
    const run = await rankgate(['--base-url', `http://127.0.0.1:${port}`, 'adapters', 'list']);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toBe(`rankgate: cannot reach http://127.0.0.1:${port} (ECONNREFUSED); check --base-url or RANKGATE_BASE_URL\n`);
  });
});

/** A loopback port that was just free: bound, then released. */
function closedPort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}
