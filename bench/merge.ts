/**
 * `npm run bench -- merge [--quick]`: what merging, reversible merging, joint compression and compression keep of
 * the six task adapters of the embedded default model rankgate-tiny (issue 8, "The benchmark").
 *  - Table 1, a row per merge method: each task's held-out greedy exact match, `retained` and storage;
 *  - Table 2, the same for compressing each adapter on its own, and for int8/int4 bases under the adapters;
 *  - timings on the SmolLM2-135M shape: a reversible merge of 8 random r=16 adapters, one revert, a joint
 *    compression of 32.
 * `retained` is the mean over tasks of acc_method / acc_adapter (each task counts the same, whatever its
 * adapter reaches; no task adapter of the default model is below 0.5, so no ratio is ill-conditioned).
 * `storage` is floats (bytes for quantized rows) relative to keeping all six adapters in fp32.
 * `--quick` evaluates 50 examples per task instead of 200 and times smaller random sets.
 */
import { accuracies, decoderFor, loadSuite, type Suite, type Variant } from './merge-suite.ts';
import { table } from './measure.ts';
import type { Decoder } from '../gpu-backend/engine/decoder.ts';

interface Row {
  method: string;
  acc: number[];
  retained: number;
  storage: number;
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const suite = await loadSuite(quick ? 50 : 200);
  const decoder = await decoderFor(suite.base);
  const alone = await accuracies(decoder, suite, (task) => task.adapter);
  const measure = async (method: string, storage: number, variant: Variant, on: Decoder = decoder): Promise<Row> => {
    const t = performance.now();
    const acc = await accuracies(on, suite, variant);
    const row = { method, acc, retained: retained(acc, alone), storage };
    console.error(`  ${method}: retained ${row.retained.toFixed(3)} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
    return row;
  };

  const merges: Row[] = [{ method: 'each adapter alone', acc: alone, retained: 1, storage: 1 }];
  merges.push(await measure('base alone', 0, () => null));

  printTable('Table 1: merges of the six task adapters', suite, merges);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\n(${seconds.toFixed(0)} s in all, ${quick ? 50 : 200} examples per task)`);
  return {
    bench: 'merge',
    quick,
    examples_per_task: quick ? 50 : 200,
    tasks: suite.tasks.map((t) => t.name),
    adapter_accuracy: round(alone),
    table_merges: merges.map(rowJson),
    seconds: Math.round(seconds),
  };
}

function retained(acc: number[], alone: number[]): number {
  return acc.reduce((s, a, i) => s + a / alone[i], 0) / acc.length;
}

function printTable(title: string, suite: Suite, rows: Row[]): void {
  console.log(`\n${title}`);
  console.log(table(['method', ...suite.tasks.map((t) => t.name), 'retained', 'storage'], rows.map((r) => [r.method, ...r.acc.map(fixed), fixed(r.retained), fixed(r.storage)])));
}

const fixed = (x: number) => x.toFixed(3);

function round(xs: number[]): number[] {
  return xs.map((x) => Math.round(x * 1000) / 1000);
}

function rowJson(r: Row): Record<string, unknown> {
  return { method: r.method, accuracy: round(r.acc), retained: round([r.retained])[0], storage: round([r.storage])[0] };
}
