/**
 * The web console in a real browser: headless Chromium (tests/e2e/browser.ts) driven by playwright-core, against the whole stack
 * (s3rver, Miniflare serving the edge and its console, the backend). A user signs in with an API key,
 * sees the adapters and pins one, opens a job's loss curve, follows a quantization job to the model id it serves, reverts a merge
 * task, and streams playground completions of one model and of a per-request mix of adapters.
 * Screenshots land in test-results/console/ (git-ignored) for the CI run's artifacts.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rng } from '../../gpu-backend/engine/sampling.ts';
import { examples, TASKS } from '../../gpu-backend/default-model/skills.ts';
import { root } from '../../scripts/edge-stack.ts';
import { launchChromium } from './browser.ts';
import { fixtureTenant, startStack, uploadFixtureAdapter, waitFor, type EdgeApi, type Stack, withStackLogs } from './stack.ts';

const SCREENSHOTS = join(root, 'test-results', 'console');
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

let stack: Stack;
let api: EdgeApi;
let browser: Browser;
let page: Page;
let jobId: string;
let quantizationId: string;
/** A reversible merge (its tasks can be reverted) and a collapsed one (a revert is refused), by name. */
const merges: Record<'ab' | 'ab-cat', string> = { ab: '', 'ab-cat': '' };

beforeAll(async () => {
  // A browser that cannot start fails the suite with its reason (its tests show as skipped under the failed hook).
  browser = await launchChromium();
  await mkdir(SCREENSHOTS, { recursive: true });
  stack = await startStack({ leaseTtlS: 30 });
  api = await fixtureTenant(stack, 'console');
  await uploadFixtureAdapter(api, 'task-a', 'task_a');
  await uploadFixtureAdapter(api, 'task-b', 'task_b');

  const form = new FormData();
  form.set('purpose', 'fine-tune');
  form.set(
    'file',
    new File(
      [
        `${examples(TASKS[0], 12, rng(1))
          .map((r) => JSON.stringify(r))
          .join('\n')}\n`,
      ],
      'train.jsonl',
    ),
  );
  const fileId = (await api.json('/v1/files', { body: form }, 201)).id;
  jobId = (
    await api.json(
      '/v1/fine_tuning/jobs',
      {
        body: {
          model: 'tiny-llama',
          training_file: fileId,
          suffix: 'console',
          seed: 3,
          hyperparameters: { n_epochs: 2, batch_size: 4, learning_rate: 0.01, lora_r: 4 },
        },
      },
      201,
    )
  ).id;
  for (const [name, method] of [
    ['ab', 'rmm_factor'],
    ['ab-cat', 'cat'],
  ] as const)
    merges[name] = (
      await api.json('/v1/merges', { body: { name, base_model: 'tiny-llama', adapters: ['task-a', 'task-b'], method } }, 201)
    ).id;
  quantizationId = (await api.json('/v1/base-models/tiny-llama/quantizations', { body: { bits: 4 } }, 202)).id;
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const withLogs = <T>(run: () => Promise<T>) =>
  withStackLogs(stack, run, async () => page?.screenshot({ path: join(SCREENSHOTS, 'failure.png'), fullPage: true }));

const consoleUrl = () => `${stack.edge.edgeUrl}/console`;
const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

/** The values a datalist of the page offers. */
const options = (list: string) => page.locator(`#${list} option`).evaluateAll((os) => os.map((o) => o.getAttribute('value')));

/** A chat request's model, message, max tokens and temperature, typed into the playground's form. */
async function fillPlayground(request: { model: string; messages: { content: string }[]; max_tokens: number; temperature: number }) {
  await page.fill('#playground-model', request.model);
  await page.fill('#playground-prompt', request.messages[0].content);
  await page.fill('#playground-max-tokens', String(request.max_tokens));
  await page.fill('#playground-temperature', String(request.temperature));
}

/** Sends the playground's form and waits for the stream to end with `expected`, the API's own answer. */
async function sendStreamed(expected: string) {
  await page.click('#playground-send');
  await page.waitForSelector('#playground-status[data-state]');
  expect(await page.getAttribute('#playground-status', 'data-state'), (await page.textContent('#playground-status')) ?? undefined).toBe(
    'done',
  );
  expect(await page.textContent('#playground-output')).toBe(expected);
}

/** Navigates to a console page and waits until it has drawn what the API returned. */
async function open(name: 'adapters' | 'jobs' | 'merges' | 'playground') {
  const url = `${consoleUrl()}#${name}`;
  // Going to the URL the page is on only moves to the fragment; reload to see the API's data now.
  if (page.url() === url) await page.reload();
  else await page.goto(url);
  await page.waitForSelector(`body[data-loaded="${name}"]`);
}

describe('the web console', () => {
  test('is public and strict about what it loads; the data behind it still needs a key', () =>
    withLogs(async () => {
      for (const [path, type] of [
        ['/console', 'text/html'],
        ['/console/console.js', 'text/javascript'],
        ['/console/console.css', 'text/css'],
      ]) {
        const res = await fetch(`${stack.edge.edgeUrl}${path}`);
        expect(res.status, path).toBe(200);
        expect(res.headers.get('content-type')).toContain(type);
        expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      }
      expect((await fetch(`${stack.edge.edgeUrl}/v1/adapters`)).status).toBe(401);
    }));

  test('signs in with an API key (a wrong one is refused in the API’s words) and lists the adapters', () =>
    withLogs(async () => {
      await page.goto(consoleUrl());
      await page.fill('#api-key', 'rg-not-a-key');
      await page.click('#sign-in button[type=submit]');
      await expect.poll(() => page.textContent('#sign-in-error')).toContain('invalid_api_key');
      expect(await page.isVisible('#page-adapters')).toBe(false);

      await page.fill('#api-key', api.key);
      await page.click('#sign-in button[type=submit]');
      await page.waitForSelector('body[data-loaded="adapters"]');
      expect(await page.isVisible('#sign-in')).toBe(false);
      expect(await page.isVisible('#nav')).toBe(true);
      const rows = await Promise.all(
        (await page.locator('#adapters-table tbody tr').all()).map((tr) => tr.locator('td').allTextContents()),
      );
      const listed = (await api.json('/v1/adapters?limit=100')).data;
      // Listed after the page drew its table: the job's adapter may appear in between, never the other way round.
      expect(listed.map((a: any) => a.name)).toEqual(expect.arrayContaining(rows.map((r) => r[0])));
      for (const name of ['task-a', 'task-b']) {
        const a = listed.find((x: any) => x.name === name);
        expect(rows).toContainEqual([
          name,
          `tiny-llama:${name}`,
          'v1',
          'ready',
          String(a.rank),
          a.target_modules.join(', '),
          expect.stringMatching(/^\d+(\.\d)? (B|KB|MB)$/),
          'upload',
          'Pin',
          'Versions',
        ]);
      }
      // The key lives in this tab only.
      expect(await page.evaluate("sessionStorage.getItem('rankgate.apiKey')")).toBe(api.key);
      await shot('adapters');
    }));

  test("shows an adapter's versions, and promotes one: the name then serves it", () =>
    withLogs(async () => {
      const v1 = await uploadFixtureAdapter(api, 'styled', 'task_a');
      const v2 = await uploadFixtureAdapter(api, 'styled', 'task_b');
      await open('adapters');
      const row = page.locator('tr[data-adapter="styled"]');
      expect(await row.locator('td').nth(2).textContent()).toBe('v2');
      await row.locator('button.versions').click();
      await page.waitForSelector('#adapter-versions:not([hidden]) tr[data-version="1"]');
      expect(await page.textContent('#adapter-versions-name')).toBe('styled');
      const versionRows = async () =>
        Promise.all((await page.locator('#versions-table tbody tr').all()).map((tr) => tr.locator('td').allTextContents()));
      expect((await versionRows()).map((r) => r.slice(0, 4))).toEqual([
        ['v2', 'yes', 'tiny-llama:styled', 'ready'],
        ['v1', '', 'tiny-llama:styled@v1', 'ready'],
      ]);
      expect(await page.locator('#versions-table button.promote').count()).toBe(1);
      await shot('versions');
      await page.locator('tr[data-version="1"] button.promote').click();
      await expect.poll(() => page.textContent('#promote-result')).toBe(`styled now serves v1 (${v1.id})`);
      await expect.poll(async () => (await versionRows()).map((r) => r[1])).toEqual(['', 'yes']);
      expect(await api.json('/v1/adapters/styled')).toMatchObject({ id: v1.id, current: true });
      expect(await api.json(`/v1/adapters/${v2.id}`)).toMatchObject({ current: false, model: 'tiny-llama:styled@v2' });
    }));

  test('pins and unpins an adapter with its button, as the API then says', () =>
    withLogs(async () => {
      await open('adapters');
      const pinned = () => page.textContent('#adapters-table tr[data-adapter="task-a"] td.pinned');
      await page.click('#adapters-table tr[data-adapter="task-a"] button.pin');
      await expect.poll(pinned).toBe('pinned Unpin');
      expect((await api.json('/v1/adapters/task-a')).pinned).toBe(true);
      await shot('adapters-pinned');
      await page.click('#adapters-table tr[data-adapter="task-a"] button.pin');
      await expect.poll(pinned).toBe('Pin');
      expect((await api.json('/v1/adapters/task-a')).pinned).toBe(false);
    }));

  test("opens a job's loss curve, which follows the job's metrics events to the end", () =>
    withLogs(async () => {
      await waitFor(
        'a metrics event of the job',
        async () =>
          (await api.json(`/v1/fine_tuning/jobs/${jobId}/events?limit=100`)).data.some((e: any) => e.type === 'metrics') ? true : undefined,
        120_000,
      );
      await open('jobs');
      await page.click(`tr[data-job="${jobId}"] button.show-loss`);
      await page.waitForSelector('#loss-chart svg polyline.train');

      const job = await waitFor(
        `job ${jobId} to end`,
        async () => {
          const j = await api.json(`/v1/fine_tuning/jobs/${jobId}`);
          return TERMINAL.includes(j.status) ? j : undefined;
        },
        120_000,
      );
      expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
      const steps = (await api.json(`/v1/fine_tuning/jobs/${jobId}/events?limit=100`)).data.filter((e: any) => e.type === 'metrics').length;
      expect(steps).toBe(6);
      // The page polls while the job runs: it reaches the final curve without a reload.
      await page.waitForSelector('#job-detail-status:text("succeeded")', { timeout: 30_000 });
      await page.waitForSelector(`#loss-chart polyline.train[data-points="${steps}"]`, { timeout: 30_000 });
      await page.waitForSelector(`tr[data-job="${jobId}"] td.status:text("succeeded")`, { timeout: 30_000 });
      expect(await page.isVisible('#page-adapters')).toBe(false);
      const points = (await page.getAttribute('#loss-chart polyline.train', 'points'))?.trim().split(/\s+/) ?? [];
      expect(points).toHaveLength(steps);
      for (const p of points) expect(p).toMatch(/^\d+(\.\d)?,\d+(\.\d)?$/);
      expect(await page.textContent('#loss-summary')).toContain(`${steps} steps reported`);
      await shot('job-loss-curve');
    }));

  test('lists quantization jobs, following one to the "<base>@int4" id it makes callable', () =>
    withLogs(async () => {
      await open('jobs');
      const row = page.locator(`tr[data-quantization="${quantizationId}"]`);
      // Shown while queued or running; the page polls until the job ends, without a reload.
      await row.waitFor();
      await page.waitForSelector(`tr[data-quantization="${quantizationId}"] td.status:text-matches("^(succeeded|failed)")`, {
        timeout: 120_000,
      });
      const q = await api.json(`/v1/base-models/tiny-llama/quantizations/${quantizationId}`);
      expect(q.status, JSON.stringify(q.error)).toBe('succeeded');
      expect(await row.locator('td').allTextContents()).toEqual([
        quantizationId,
        'tiny-llama',
        '4',
        String(q.group_size),
        'succeeded',
        'tiny-llama@int4',
        expect.stringMatching(/^\d+(\.\d)? (B|KB|MB)$/),
      ]);
      await shot('quantizations');
    }));

  test('shows merges with per-task error and storage, reverts a task with the button, and shows a refusal as the API words it', () =>
    withLogs(async () => {
      const merge = (id: string) => api.json(`/v1/merges/${id}`);
      for (const id of Object.values(merges)) {
        const m = await waitFor(
          `merge ${id} to end`,
          async () => ((m) => (TERMINAL.includes(m.status) ? m : undefined))(await merge(id)),
          120_000,
        );
        expect(m.status, JSON.stringify(m.error)).toBe('succeeded');
      }
      const ab = await merge(merges.ab);

      await open('merges');
      const row = page.locator('tr[data-merge="ab"]');
      expect(await row.locator('td.status').textContent()).toBe('succeeded');
      expect(await row.locator('td').nth(3).textContent()).toBe(`${(ab.result.storage_fraction * 100).toFixed(1)}% of the members`);
      for (const task of ab.result.tasks)
        expect(await row.locator(`[data-member="${task.name}"] .task-error`).textContent()).toBe(`error ${task.relative_error.toFixed(4)}`);

      await row.locator('[data-member="task-a"] button.revert').click();
      await page.waitForSelector('#revert-result:not(:text("Reverting"))');
      const [queued] = (await merge(merges.ab)).reverts;
      // The POST's answer: the revert as created, before any backend claimed it.
      expect(await page.textContent('#revert-result')).toBe(`Revert ${queued.id} of task-a: queued (new adapter ab-task-a)`);
      const reverted = await waitFor(
        'the revert to end',
        async () => ((r) => (TERMINAL.includes(r.status) ? r : undefined))((await merge(merges.ab)).reverts[0]),
        120_000,
      );
      expect(reverted.status, JSON.stringify(reverted.error)).toBe('succeeded');
      // The page follows a running revert by itself; no reload needed.
      await page.waitForSelector('tr[data-merge="ab"] td.reverts:text("task-a: succeeded")', { timeout: 30_000 });
      await shot('merges');

      // A collapsed merge keeps no task: the button's request is refused, and the page shows the API's own words.
      await page.locator('tr[data-merge="ab-cat"] [data-member="task-a"] button.revert').click();
      await page.waitForSelector('#revert-result.error');
      const refusal = await api.fetch(`/v1/merges/${merges['ab-cat']}/revert`, { body: { adapter: 'task-a' } });
      expect(refusal.status).toBe(400);
      const { error } = (await refusal.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('merge_not_reversible');
      expect(await page.textContent('#revert-result')).toBe(`Revert refused: merge_not_reversible: ${error.message}`);
      expect((await merge(merges['ab-cat'])).reverts).toEqual([]);
      await shot('merges-refused');
    }));

  test('streams a completion in the playground', () =>
    withLogs(async () => {
      const request = {
        model: 'tiny-llama:task-a',
        messages: [{ role: 'user', content: 'upper: red fox' }],
        max_tokens: 12,
        temperature: 0,
      };
      const expected = (await api.json('/v1/chat/completions', { body: request })).choices[0].message.content;
      expect(expected.length).toBeGreaterThan(0);

      await open('playground');
      // The model list is the API's own (/v1/models).
      const models = (await api.json('/v1/models')).data.map((m: any) => m.id);
      expect(await options('playground-models')).toEqual(models);
      expect(models).toContain(request.model);
      await fillPlayground(request);
      await sendStreamed(expected);
      await shot('playground');

      // An unknown model: the API's error, shown as text.
      await page.fill('#playground-model', 'tiny-llama:no-such-adapter');
      await page.click('#playground-send');
      await page.waitForSelector('#playground-status[data-state="error"]');
      expect(await page.textContent('#playground-status')).toMatch(/^model_not_found: /);
    }));

  test('mixes adapters per request in the playground, and shows a refused mix in the API’s words', () =>
    withLogs(async () => {
      const mix = [
        { name: 'task-a', weight: 0.7 },
        { name: 'task-b', weight: -0.3 },
      ];
      const request = {
        model: 'tiny-llama',
        adapters: mix,
        messages: [{ role: 'user', content: 'upper: red fox' }],
        max_tokens: 12,
        temperature: 0,
      };
      const expected = (await api.json('/v1/chat/completions', { body: request })).choices[0].message.content;

      await open('playground');
      // The quantized base the job made is offered as a model; the mix offers the ready adapters.
      expect(await options('playground-models')).toEqual(expect.arrayContaining(['tiny-llama', 'tiny-llama@int4', 'tiny-llama:task-a']));
      expect(await options('playground-adapters')).toEqual(expect.arrayContaining(['task-a', 'task-b']));

      await fillPlayground(request);
      for (const [i, { name, weight }] of mix.entries()) {
        await page.click('#playground-add-adapter');
        const row = page.locator('#playground-mix-rows .mix-row').nth(i);
        await row.locator('.mix-adapter').fill(name);
        await row.locator('.mix-weight').fill(String(weight));
      }
      await sendStreamed(expected);
      await shot('playground-mix');

      // A mix on top of an adapter is refused, and the page shows why in the API's words.
      await page.fill('#playground-model', 'tiny-llama:task-a');
      await page.click('#playground-send');
      await page.waitForSelector('#playground-status[data-state="error"]');
      expect(await page.textContent('#playground-status')).toMatch(/^model_and_adapters: "model" names "tiny-llama:task-a"/);

      // Removing the rows sends a plain request again.
      await page.click('#playground-mix-rows .mix-row >> nth=1 >> button.mix-remove');
      await page.click('#playground-mix-rows .mix-row >> nth=0 >> button.mix-remove');
      expect(await page.locator('#playground-mix-rows .mix-row').count()).toBe(0);
      await page.click('#playground-send');
      await page.waitForSelector('#playground-status[data-state="done"]');
    }));

  test('signs out: the key leaves the tab and the sign-in form is back', () =>
    withLogs(async () => {
      await page.click('#sign-out');
      expect(await page.isVisible('#sign-in')).toBe(true);
      expect(await page.isVisible('#page-playground')).toBe(false);
      expect(await page.evaluate("sessionStorage.getItem('rankgate.apiKey')")).toBeNull();
    }));
});
