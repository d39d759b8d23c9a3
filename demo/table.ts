/** The accuracy and storage table the demo prints and README shows: a row per task, a column per variant. */
import { type DemoResults, meanAccuracy } from './results.ts';

const cell = (x: number | null | undefined, digits: number) => (x === null || x === undefined ? '-' : x.toFixed(digits));

export function tableRows(results: DemoResults): string[][] {
  const header = ['task', ...results.variants.map((v) => v.label)];
  const rows = results.tasks.map((t) => [t, ...results.variants.map((v) => cell(v.accuracy[t], 2))]);
  const mean = ['mean', ...results.variants.map((v) => cell(meanAccuracy(v), 2))];
  const storage = ['storage', ...results.variants.map((v) => cell(v.storage, 3))];
  return [header, ...rows, mean, storage];
}

/** Aligned plain text: the first column left, numbers right. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

/** The same table as Markdown (README). */
export function markdownTable(rows: string[][]): string {
  const [header, ...body] = rows;
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...body.map(line)].join('\n');
}
