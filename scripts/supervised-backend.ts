/**
 * The local stack's backend, kept running as a container orchestrator keeps one: when it exits on its own (a crash,
 * an out-of-memory kill), it is started again after a backoff that doubles from 1 s to 30 s, and back to 1 s once a
 * run has stayed up a minute. Each exit and restart is logged. Its leases make it (or any backend) finish the jobs
 * the dead one held, as after a restart by hand.
 */
import type { BackendProcess } from './backend-process.ts';

const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** A run that lasted this long was healthy: the next crash starts the backoff over. */
const HEALTHY_RUN_MS = 60_000;

export interface SupervisedBackend {
  /** The running process (the latest one after restarts). */
  current(): BackendProcess;
  /** Stops it, and restarts no more. */
  stop(): Promise<void>;
}

/** Starts the backend with `start` (which resolves once it listens) and restarts it whenever it exits on its own. */
export async function superviseBackend(start: () => Promise<BackendProcess>, log: (line: string) => void): Promise<SupervisedBackend> {
  let running = await start();
  let stopped = false;
  let backoffMs = FIRST_BACKOFF_MS;
  let wake: (() => void) | null = null;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const watch = async () => {
    while (!stopped) {
      const startedAt = Date.now();
      const code = await running.exited;
      if (stopped) return;
      if (Date.now() - startedAt >= HEALTHY_RUN_MS) backoffMs = FIRST_BACKOFF_MS;
      log(`the backend (pid ${running.child.pid}) exited (${code ?? running.child.signalCode}); restarting it in ${backoffMs / 1000} s.`);
      for (;;) {
        await pause(backoffMs);
        backoffMs = Math.min(2 * backoffMs, MAX_BACKOFF_MS);
        if (stopped) return;
        try {
          running = await start();
          // Stopped while it was starting: this one must not outlive the stack.
          if (stopped) return void (await running.stop());
          log(`the backend is back (pid ${running.child.pid}, ${running.url}).`);
          break;
        } catch (err) {
          log(
            `the backend failed to start (${err instanceof Error ? err.message.split('\n')[0] : err}); trying again in ${backoffMs / 1000} s.`,
          );
        }
      }
    }
  };
  void watch();

  return {
    current: () => running,
    async stop() {
      stopped = true;
      wake?.();
      await running.stop();
    },
  };
}
