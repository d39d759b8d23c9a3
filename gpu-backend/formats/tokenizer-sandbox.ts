/**
 * One model folder's tokenizer.json and chat template, run in a child process of their own with a deadline per call
 * and a heap cap (tokenizer-sandbox-process.js). Both files are the tenant's: a pre-tokenizer regex can backtrack
 * for minutes and a template can loop, recurse or fill the heap, so they never run on the thread that serves every
 * tenant. A process, not a worker thread: a worker's resourceLimits are best-effort, and one array grown past them
 * (a template's `range(100000000)`) aborts the whole backend (nodejs/node#47224), while a child's heap limit ends
 * the child alone. A call past its deadline or the cap ends the process, and the next call starts a fresh one. Calls
 * run one at a time, each timed from its own start, so a slow call never spends the deadline of the one behind it;
 * one process per model bounds what a hostile model can burn to one core, and leaves other models' processes alone.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ChatMessage } from './tokenizer.ts';

export interface TokenizerLimits {
  /** Longest one call (tokenize one text, render one conversation) may run before its process is ended. */
  deadlineMs: number;
  /** The process's heap cap (V8's --max-old-space-size), MiB: the tokenizer's tables plus what one call builds. */
  memoryMb: number;
}

/**
 * A 512 KiB prompt (MAX_PROMPT_BYTES) tokenizes in ~0.4 s here; the deadline leaves room for a loaded machine and
 * larger vocabularies. Llama-3's tokenizer.json (128k tokens, 280k merges) needs ~200 MiB of tables.
 */
export const DEFAULT_TOKENIZER_LIMITS: TokenizerLimits = { deadlineMs: 5_000, memoryMb: 512 };

/** Loading (parsing tokenizer.json, building its tables) is bounded by the file's size, not by a request: it gets this many deadlines. */
const LOAD_DEADLINES = 10;

/** What went wrong: past the deadline, past the memory cap, a rendered text over its cap, a template syntax error, or a thrown error. */
export type SandboxFailureKind = 'deadline' | 'memory' | 'output' | 'syntax' | 'failed';

/** A call (or the child's load) that failed; `detail` is the library's own message, where there is one. */
export class SandboxFailure extends Error {
  constructor(
    readonly kind: SandboxFailureKind,
    readonly stage: 'load' | 'encode' | 'render',
    readonly detail: string,
  ) {
    super(`tokenizer sandbox: ${stage} ${kind}: ${detail}`);
  }
}

type Answer = { id: number; ids?: Int32Array; text?: string; error?: { kind: SandboxFailureKind; message: string } };

interface Job {
  id: number;
  stage: 'encode' | 'render';
  message: Record<string, unknown>;
  resolve: (answer: Answer) => void;
  reject: (err: SandboxFailure) => void;
}

/** The end of a process's stderr, kept to tell a heap-limit abort from other deaths. */
const STDERR_TAIL = 4096;

interface Child {
  process: ChildProcess;
  /** Settles when the child has loaded the tokenizer (or could not). */
  loaded: Promise<void>;
  /** Fails what the child is doing now (its load, or the running call) and marks it dead; idle, it only marks it dead. */
  fail: (err: SandboxFailure) => void;
  dead: boolean;
}

export class TokenizerSandbox {
  private child: Child | null = null;
  private readonly queue: Job[] = [];
  private running = false;
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly limits: TokenizerLimits = DEFAULT_TOKENIZER_LIMITS,
  ) {}

  /** Starts the process and loads the tokenizer now, so a broken tokenizer.json is found before any request. */
  async load(): Promise<void> {
    await this.childNow().loaded;
  }

  async encode(text: string, addSpecialTokens: boolean): Promise<number[]> {
    const answer = await this.call('encode', { op: 'encode', text, addSpecialTokens });
    return Array.from(answer.ids!);
  }

  /** The chat template's text for `messages`; a text over `maxBytes` (UTF-8) fails as 'output'. */
  async render(messages: ChatMessage[], addGenerationPrompt: boolean, maxBytes: number): Promise<string> {
    const answer = await this.call('render', { op: 'render', messages, addGenerationPrompt, maxBytes });
    return answer.text!;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new SandboxFailure('failed', job.stage, 'the model was unloaded'));
    const child = this.child;
    this.child = null;
    if (child) {
      child.fail(new SandboxFailure('failed', 'load', 'the model was unloaded'));
      child.process.kill('SIGKILL');
    }
  }

  private call(stage: Job['stage'], message: Record<string, unknown>): Promise<Answer> {
    if (this.closed) return Promise.reject(new SandboxFailure('failed', stage, 'the model was unloaded'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, stage, message, resolve, reject });
      void this.pump();
    });
  }

  /** Runs queued calls one after another on the (possibly new) child. */
  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) await this.run(job);
    } finally {
      this.running = false;
    }
  }

  private async run(job: Job): Promise<void> {
    const child = this.childNow();
    try {
      await child.loaded;
    } catch (err) {
      job.reject(err as SandboxFailure);
      return;
    }
    await new Promise<void>((done) => {
      const timer = setTimeout(() => {
        child.fail(new SandboxFailure('deadline', job.stage, `${this.limits.deadlineMs} ms`));
        child.process.kill('SIGKILL');
      }, this.limits.deadlineMs);
      const settle = () => {
        clearTimeout(timer);
        child.process.off('message', onMessage);
        idle(child.process, true);
        child.fail = () => this.drop(child);
        done();
      };
      const onMessage = (answer: Answer) => {
        if (answer.id !== job.id) return;
        settle();
        if (answer.error) job.reject(new SandboxFailure(answer.error.kind, job.stage, answer.error.message));
        else job.resolve(answer);
      };
      child.fail = (err) => {
        this.drop(child);
        settle();
        job.reject(new SandboxFailure(err.kind, job.stage, err.detail));
      };
      idle(child.process, false);
      child.process.on('message', onMessage);
      child.process.send({ id: job.id, ...job.message });
    });
  }

  /** The live process, or a new one (loading). */
  private childNow(): Child {
    if (this.child && !this.child.dead) return this.child;
    const { memoryMb, deadlineMs } = this.limits;
    const proc = fork(PROCESS_SCRIPT, [this.dir], {
      execArgv: [`--max-old-space-size=${memoryMb}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    (proc.stderr as Socket).unref();
    const child: Child = { process: proc, loaded: Promise.resolve(), fail: () => {}, dead: false };
    child.loaded = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.fail(new SandboxFailure('deadline', 'load', `${LOAD_DEADLINES * deadlineMs} ms`));
        proc.kill('SIGKILL');
      }, LOAD_DEADLINES * deadlineMs);
      child.fail = (err) => {
        clearTimeout(timer);
        this.drop(child);
        reject(err);
      };
      proc.once('message', (m: { loaded: boolean; error?: { message: string } }) => {
        clearTimeout(timer);
        child.fail = () => this.drop(child);
        idle(proc, true);
        if (m.loaded) resolve();
        else {
          reject(new SandboxFailure('failed', 'load', m.error?.message ?? 'unknown error'));
          proc.kill('SIGKILL');
        }
      });
    });
    // Whoever awaits `loaded` sees a failure; this keeps an unawaited one from counting as unhandled.
    child.loaded.catch(() => {});
    proc.on('error', (err) => child.fail(new SandboxFailure('failed', 'load', err.message)));
    proc.on('exit', (code, signal) =>
      child.fail(
        /heap out of memory|Reached heap limit/.test(stderr)
          ? new SandboxFailure('memory', 'load', `${memoryMb} MiB`)
          : new SandboxFailure('failed', 'load', `the tokenizer process exited (${signal ?? code})`),
      ),
    );
    this.child = child;
    return child;
  }

  /** A process that failed or was ended: the next call starts a new one. */
  private drop(child: Child): void {
    child.dead = true;
    if (this.child === child) this.child = null;
  }
}

const PROCESS_SCRIPT = fileURLToPath(new URL('./tokenizer-sandbox-process.js', import.meta.url));

/** An idle process must not keep the backend alive; a busy one must, until it answers. */
function idle(child: ChildProcess, yes: boolean): void {
  if (yes) {
    child.unref();
    child.channel?.unref();
  } else {
    child.ref();
    child.channel?.ref();
  }
}
