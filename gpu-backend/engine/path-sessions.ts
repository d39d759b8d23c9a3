/**
 * One session per graph path (graph-variants.ts) on one copy of the weights. onnxruntime pre-packs every MatMul weight
 * into each session's own heap, so a second session of the same model used to cost a second copy (engine/README.md,
 * "A session per path"). Instead: one session, in a process of its own (save-optimized.js), optimizes the graph and
 * saves it with its weights and their pre-packed forms in one data file
 * (`session.save_external_prepacked_constant_initializers`); each path's
 * graph is cut from the saved one, so all of them point into that file, and their sessions map the pre-packed weights
 * from it: the kernel holds each page once, whatever the number of sessions (PSS grows by ~0; RSS counts each
 * mapping's pages again).
 *
 * Only for float32 weights on the CPU provider: with int4 weights (MatMulNBits), a session of the saved graph crashed
 * onnxruntime 1.30 (SIGSEGV) at creation or its first run, and the GPU providers keep weights on the device.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import onnxProto from 'onnx-proto';
import { type GraphPath, withoutInputs } from './graph-variants.ts';
import { io } from './inference-graph.ts';
import { createSession, type ort, type RuntimeOptions } from './runtime.ts';

const { onnx } = onnxProto;

const SAVED = 'saved';

/**
 * Sessions for `paths` of the graph `model` (its weights beside it in `dir`), sharing one saved data file in `dir`.
 * The first path listed must be the graph as built (nothing cut). Every other file in `dir` is deleted once the
 * graph is saved; the caller deletes `dir` itself once the sessions exist (their mappings outlive the names).
 */
export async function loadPathSessions(
  dir: string,
  model: string,
  paths: readonly GraphPath[],
  opts: RuntimeOptions,
): Promise<Map<GraphPath, ort.InferenceSession>> {
  await saveOptimized(join(dir, model), join(dir, `${SAVED}.onnx`), `${SAVED}.bin`, opts.threads ?? availableParallelism());
  // The saved data file holds every weight: the files written for the first session only take disk now.
  for (const f of await readdir(dir)) if (!f.startsWith(`${SAVED}.`)) await rm(join(dir, f), { force: true });
  const saved = onnx.ModelProto.decode(await readFile(join(dir, `${SAVED}.onnx`)));
  const sessions = new Map<GraphPath, ort.InferenceSession>();
  try {
    for (const [i, path] of paths.entries()) {
      const file = join(dir, `${path}.onnx`);
      await writeFile(file, onnx.ModelProto.encode(i === 0 ? saved : cutTo(saved, path)).finish());
      sessions.set(path, await createSession(file, opts, { optimized: true }));
    }
  } catch (e) {
    await Promise.all([...sessions.values()].map((s) => s.release()));
    throw e;
  }
  return sessions;
}

const SAVER = fileURLToPath(new URL('./save-optimized.js', import.meta.url));

/** Runs save-optimized.js, which says why a process of its own; its error output becomes the error's message. */
async function saveOptimized(model: string, modelPath: string, dataFile: string, threads: number): Promise<void> {
  try {
    await promisify(execFile)(process.execPath, [SAVER, model, modelPath, dataFile, String(threads)], { maxBuffer: 1 << 20 });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new Error(`saving the optimized graph failed: ${stderr || (e as Error).message}`);
  }
}

/** The saved serving graph cut to `path`: base without the adapter inputs, adapters without the cores. */
function cutTo(saved: ReturnType<typeof onnx.ModelProto.decode>, path: GraphPath) {
  if (path === 'shared') return saved;
  const core = (name: string) => name.startsWith(io.loraCorePrefix);
  const factor = (name: string) => name.startsWith(io.loraFactorPrefixes[0]) || name.startsWith(io.loraFactorPrefixes[1]);
  const none = () => false;
  return path === 'base' ? withoutInputs(saved, (n) => factor(n) || core(n), none) : withoutInputs(saved, none, core);
}
