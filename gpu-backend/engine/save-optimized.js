/**
 * Saves the serving graph optimized, its weights and their pre-packed forms in one data file (path-sessions.ts), in a
 * process of its own: the session that packs them holds a copy of the weights in its heap, and after it is released
 * glibc kept ~470 MB of that heap in the loading process at the 135M shape (engine/README.md, "A session per path").
 * Plain JavaScript that registers tsx itself, as the engine's other entry points do.
 * Arguments: the graph's path, the saved graph's path, the data file's name (beside it), intra-op threads.
 */
import { register } from 'tsx/esm/api';

register();
const { createSession } = await import('./runtime.ts');
const [model, modelPath, dataFile, threads] = process.argv.slice(2);
const session = await createSession(model, { threads: Number(threads) }, { save: { modelPath, dataFile } });
await session.release();
