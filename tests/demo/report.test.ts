/** The demo's pure parts on fixed data: held-out sets, the table, and report.html with its inlined chart library. */
import { describe, expect, test } from 'vitest';
import { taskData } from '../../demo/datasets.ts';
import { chartConfigs, chartLibrary, reportHtml } from '../../demo/report.ts';
import { type DemoResults, secondsPerStep, trainingCurve } from '../../demo/results.ts';
import { formatTable, markdownTable, tableRows } from '../../demo/table.ts';

const results: DemoResults = {
  tasks: ['date_to_us', 'larger'],
  variants: [
    { label: 'base', method: 'base model', storage: 0, accuracy: { date_to_us: 0, larger: 0.05 } },
    { label: 'adapter', method: 'adapters', storage: 1, accuracy: { date_to_us: 1, larger: 0.5 } },
    { label: 'rmm p=1', method: 'rmm_factor', storage: 0.625, accuracy: { date_to_us: 0.9, larger: 0.4 } },
    { label: 'int8', method: 'compression', storage: 0.2578, accuracy: { date_to_us: 1 } },
  ],
  curves: [
    trainingCurve('date_to_us', [
      { step: 2, train_loss: 3.5, elapsed_s: 1, tokens_per_s: 900 },
      { step: 1, train_loss: 9.25, elapsed_s: 0, tokens_per_s: 800 },
      { step: 4, train_loss: 1.5, elapsed_s: 2, tokens_per_s: 950 },
    ]),
  ],
  stages: [{ name: 'train', seconds: 12.34 }],
};

describe('demo data', () => {
  test('held-out inputs never appear in training, and the sets are the asked sizes', () => {
    const d = taskData('larger', 300, 40);
    expect(d.train).toHaveLength(300);
    expect(d.heldOut).toHaveLength(40);
    const train = new Set(d.train.map((e) => e.prompt));
    expect(d.heldOut.filter((e) => train.has(e.prompt))).toEqual([]);
    expect(d.slug).toBe('larger');
    expect(d.heldOut[0].prompt).toMatch(/^larger: \d+ \d+\n$/);
  });

  test('a name that is not a task of the default model says which are', () => {
    expect(() => taskData('nope', 1, 1)).toThrow(/date to us/);
  });
});

describe('demo table', () => {
  test('a row per task, the mean and the storage; a dash where a variant does not serve the task', () => {
    expect(tableRows(results)).toEqual([
      ['task', 'base', 'adapter', 'rmm p=1', 'int8'],
      ['date_to_us', '0.00', '1.00', '0.90', '1.00'],
      ['larger', '0.05', '0.50', '0.40', '-'],
      ['mean', '0.03', '0.75', '0.65', '1.00'],
      ['storage', '0.000', '1.000', '0.625', '0.258'],
    ]);
    expect(formatTable(tableRows(results)).split('\n')[1]).toBe('date_to_us   0.00     1.00     0.90   1.00');
    expect(markdownTable(tableRows(results)).split('\n').slice(0, 3)).toEqual([
      '| task | base | adapter | rmm p=1 | int8 |',
      '| --- | ---: | ---: | ---: | ---: |',
      '| date_to_us | 0.00 | 1.00 | 0.90 | 1.00 |',
    ]);
  });

  test('time per step is the last elapsed time over its step', () => {
    expect(results.curves[0].steps.map((s) => s.step)).toEqual([1, 2, 4]);
    expect(secondsPerStep(results.curves[0])).toBe(0.5);
    // A loss known only from a checkpoint (no elapsed time) joins the curve but not the timing.
    const filled = trainingCurve('larger', [
      { step: 2, train_loss: 2, elapsed_s: 1 },
      { step: 50, train_loss: 0.5 },
    ]);
    expect(filled.steps.map((s) => [s.step, s.loss])).toEqual([
      [2, 2],
      [50, 0.5],
    ]);
    expect(secondsPerStep(filled)).toBe(0.5);
  });
});

describe('report.html', () => {
  test('charts: loss per task by step, accuracy against storage per method, seconds per step', () => {
    const { loss, tradeoff, timing } = chartConfigs(results);
    expect(loss.data.datasets[0].data).toEqual([
      { x: 1, y: 9.25 },
      { x: 2, y: 3.5 },
      { x: 4, y: 1.5 },
    ]);
    expect(tradeoff.data.datasets.map((d) => d.label)).toEqual(['base model', 'adapters', 'rmm_factor', 'compression']);
    expect(tradeoff.data.datasets[2].data).toEqual([{ x: 0.625, y: 0.65, label: 'rmm p=1' }]);
    expect(timing.data.datasets[0].data).toEqual([0.5]);
  });

  test('opens offline: Chart.js is inlined whole, nothing is loaded from elsewhere, the table is in the page', async () => {
    const lib = await chartLibrary();
    expect(lib).toMatch(/Chart\.js v4\.6\.1[\s\S]*MIT License/);
    const html = reportHtml(results, lib);
    expect(html).toContain(lib.slice(0, 2000));
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).toContain('<td>date_to_us</td><td>0.00</td><td>1.00</td><td>0.90</td><td>1.00</td>');
    for (const id of ['loss', 'tradeoff', 'timing']) expect(html).toContain(`<canvas id="${id}">`);
  });

  test('script text cannot close its element early', () => {
    const html = reportHtml({ ...results, tasks: ['</script><b>x'] }, 'var a = "</script>";');
    expect(html).not.toContain('"</script>"');
    expect(html.match(/<\/script>/g)).toHaveLength(2);
  });
});
