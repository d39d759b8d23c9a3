/**
 * report.html: the run's loss curves, accuracy against storage per method, time per training step, and the
 * table, drawn by Chart.js. The library's UMD build is inlined so the file opens offline, from anywhere.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type DemoResults, meanAccuracy, secondsPerStep } from './results.ts';
import { tableRows } from './table.ts';

/** Chart.js's minified UMD build (MIT licence, kept in its header comment), read from node_modules. */
export async function chartLibrary(): Promise<string> {
  // The package's exports do not list the UMD file; it sits beside the CommonJS entry.
  const entry = createRequire(import.meta.url).resolve('chart.js');
  return readFile(join(dirname(entry), 'chart.umd.min.js'), 'utf8');
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
/** Script text that cannot end its <script> element early. */
const inScript = (s: string) => s.replace(/<\/(script)/gi, '<\\/$1');

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

/** The three charts' Chart.js configurations (plain JSON). */
export function chartConfigs(results: DemoResults) {
  const loss = {
    type: 'line',
    data: {
      datasets: results.curves.map((c, i) => ({
        label: c.task,
        data: c.steps.map((s) => ({ x: s.step, y: s.loss })),
        borderColor: COLORS[i % COLORS.length],
        pointRadius: 0,
        borderWidth: 1.5,
      })),
    },
    options: {
      animation: false,
      scales: { x: { type: 'linear', title: { display: true, text: 'step' } }, y: { title: { display: true, text: 'training loss' } } },
    },
  };
  const methods = [...new Set(results.variants.map((v) => v.method))];
  const tradeoff = {
    type: 'scatter',
    data: {
      datasets: methods.map((method, i) => ({
        label: method,
        data: results.variants.filter((v) => v.method === method).map((v) => ({ x: v.storage, y: meanAccuracy(v) ?? 0, label: v.label })),
        backgroundColor: COLORS[i % COLORS.length],
        pointRadius: 6,
      })),
    },
    options: {
      animation: false,
      scales: {
        x: { min: 0, title: { display: true, text: 'storage (fraction of the adapters it replaces)' } },
        y: { min: 0, max: 1, title: { display: true, text: 'mean held-out exact match' } },
      },
    },
  };
  const timing = {
    type: 'bar',
    data: {
      labels: results.curves.map((c) => c.task),
      datasets: [{ label: 'seconds per training step', data: results.curves.map((c) => secondsPerStep(c)), backgroundColor: COLORS[0] }],
    },
    options: { animation: false, scales: { y: { min: 0, title: { display: true, text: 'seconds' } } } },
  };
  return { loss, tradeoff, timing };
}

function htmlTable(results: DemoResults): string {
  const [header, ...rows] = tableRows(results);
  const tr = (cells: string[], tag: string) => `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
  return `<table><thead>${tr(header, 'th')}</thead><tbody>${rows.map((r) => tr(r, 'td')).join('')}</tbody></table>`;
}

export function reportHtml(results: DemoResults, chartJs: string, title = 'rankgate demo'): string {
  const stages = results.stages.map((s) => `<li>${escapeHtml(s.name)}: ${s.seconds.toFixed(1)} s</li>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { padding: 0.2rem 0.7rem; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.chart { position: relative; height: 22rem; margin: 1rem 0 2rem; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<h2>Accuracy and storage</h2>
<p>Held-out exact match (greedy) per task and variant; storage is what the variant stores over the adapters it replaces, as the API reports it.</p>
${htmlTable(results)}
<h2>Training loss</h2>
<div class="chart"><canvas id="loss"></canvas></div>
<h2>Accuracy against storage</h2>
<div class="chart"><canvas id="tradeoff"></canvas></div>
<h2>Time per training step</h2>
<div class="chart"><canvas id="timing"></canvas></div>
<h2>Stages</h2>
<ul>${stages}</ul>
<script>${inScript(chartJs)}</script>
<script>
const configs = ${inScript(JSON.stringify(chartConfigs(results)))};
for (const [id, config] of Object.entries(configs)) {
  config.options.maintainAspectRatio = false;
  new Chart(document.getElementById(id), config);
}
</script>
</body>
</html>
`;
}
