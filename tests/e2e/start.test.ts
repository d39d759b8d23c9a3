/**
 * The start path of a new user: `npm start` (scripts/start.ts, on its own free ports and a fresh state folder)
 * until it says "rankgate is up.", then the `export` lines and the first curl command exactly as printed, run
 * by bash: the answer is an OpenAI completion from the adapter that curl names. And the stack outlives its backend:
 * killed in the middle of a merge, the backend is started again, and the merge finishes.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort, root, stopGroup } from '../../scripts/edge-stack.ts';

const UP = 'rankgate is up.';
/** The printed block ends with this line once everything above it is on screen. */
const END = 'Ctrl-C stops everything.';

let start: ChildProcess;
let stateDir: string;
let output = '';

/** Resolves with everything printed once `END` is; rejects when the process exits first. */
function printed(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const add = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes(UP) && output.includes(END)) resolve(output);
    };
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code} before "${UP}"\n${output.slice(-4000)}`)));
  });
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'rankgate-start-'));
  const [edge, s3, backend] = [await freePort(), await freePort(), await freePort()];
  start = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: root,
    env: {
      ...process.env,
      EDGE_PORT: String(edge),
      S3_PORT: String(s3),
      BACKEND_PORT: String(backend),
      RANKGATE_STATE_DIR: stateDir,
      // A killed backend's merge is taken again within seconds, not the default two minutes.
      LEASE_TTL_S: '5',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so nothing it started outlives the test.
    detached: true,
  });
  await printed(start);
});

afterAll(async () => {
  if (start?.exitCode === null && start.signalCode === null) {
    // Ctrl-C's path: start.ts stops the backend and the edge (each in a process group of its own) and exits.
    const exited = new Promise((r) => start.once('exit', r));
    start.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    await stopGroup(start);
  }
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

/** The `export …` lines and the first curl command (with its continuation lines), as printed. */
function firstCurl(text: string): { exports: string[]; curl: string } {
  const lines = text.slice(text.indexOf(UP)).split('\n');
  const exports = lines.filter((l) => l.startsWith('export '));
  const at = lines.findIndex((l) => l.startsWith('curl '));
  expect(at, `no curl command in:\n${text}`).toBeGreaterThan(-1);
  let end = at;
  while (lines[end].endsWith('\\')) end++;
  return { exports, curl: lines.slice(at, end + 1).join('\n') };
}

test('the first printed curl, run as printed, answers a completion from the adapter', async () => {
  const { exports, curl } = firstCurl(output);
  expect(exports.map((l) => l.split('=')[0])).toEqual(['export RANKGATE_BASE_URL', 'export RANKGATE_API_KEY']);
  const model = /"model":"([^"]+)"/.exec(curl)?.[1];
  expect(model, curl).toMatch(/^rankgate-tiny:\w+$/);

  const { stdout } = await promisify(execFile)('bash', ['-c', [...exports, curl].join('\n')], { cwd: root, timeout: 60_000 });
  const answer = JSON.parse(stdout);
  expect(answer, stdout).toMatchObject({ object: 'text_completion', model });
  expect(answer.choices.length).toBeGreaterThan(0);
  expect(typeof answer.choices[0].text).toBe('string');
  expect(answer.choices[0].text.length).toBeGreaterThan(0);
});

test('says the local bucket is for development: it checks no signatures, unlike R2 and S3', () => {
  const bucket = output
    .slice(output.indexOf(UP))
    .split('\n')
    .find((l) => l.trimStart().startsWith('bucket '));
  expect(bucket, output).toContain('for development only: it checks no request signatures; R2 and S3 do in deployment');
});

/** Polls `check` every 100 ms until it returns a value, or fails after `timeoutMs` naming `what`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${output.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a backend killed in the middle of a merge is started again, and the merge finishes', async () => {
  const env = Object.fromEntries(
    output
      .split('\n')
      .filter((l) => l.startsWith('export '))
      .map((l) => l.slice('export '.length).split('=') as [string, string]),
  );
  const call = async (path: string, body?: unknown) => {
    const res = await fetch(`${env.RANKGATE_BASE_URL}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${env.RANKGATE_API_KEY}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    expect(res.status, path).toBeLessThan(300);
    return (await res.json()) as any;
  };
  const adapters = (await call('/v1/adapters?limit=100')).data.map((a: any) => a.name).slice(0, 4);
  const merge = await call('/v1/merges', {
    name: 'survives-restart',
    base_model: 'rankgate-tiny',
    adapters,
    method: 'rmm_shared',
    basis_size: 2,
  });
  const pid = Number(/the backend runs as pid (\d+)/.exec(output)?.[1]);
  expect(pid).toBeGreaterThan(0);
  const seen = await until(
    'the merge to be claimed',
    async () => {
      const { status } = await call(`/v1/merges/${merge.id}`);
      return status === 'queued' ? undefined : status;
    },
    60_000,
  );
  expect(seen, 'the merge finished before the backend could be killed in the middle of it').toBe('running');
  process.kill(-pid, 'SIGKILL');
  await until('the backend to be started again', async () => (/the backend is back \(pid \d+/.test(output) ? true : undefined), 60_000);
  expect(output).toMatch(new RegExp(`the backend \\(pid ${pid}\\) exited \\(SIGKILL\\); restarting it in 1 s`));
  const done = await until(
    'the merge to end',
    async () => {
      const m = await call(`/v1/merges/${merge.id}`);
      return ['succeeded', 'failed', 'cancelled'].includes(m.status) ? m : undefined;
    },
    120_000,
  );
  expect(done.status, JSON.stringify(done)).toBe('succeeded');
  expect(start.exitCode).toBeNull();
});
