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
/** 'stopped': the process ended for a reason its files do not explain (an IPC error, a kill from outside, the model unloaded): not the tenant's fault. */
export type SandboxFailureKind = 'deadline' | 'memory' | 'output' | 'syntax' | 'failed' | 'stopped';

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
  /** Resolves when the process has loaded the tokenizer; rejects if it dies first. */
  loaded: Promise<void>;
  ready: boolean;
  /** Why the backend killed it (a deadline), when it did. */
  killedFor: SandboxFailure | null;
  /** Its death was handled (exit and error can both report it). */
  dead: boolean;
  stderr: string;
  timer: NodeJS.Timeout | null;
  settleLoad: (err?: SandboxFailure) => void;
}

export class TokenizerSandbox {
  private child: Child | null = null;
  /** Calls not yet sent to a process. */
  private readonly waiting: Job[] = [];
  /** Calls sent to the process, answered in order: the first is running, and its deadline is timed. */
  private readonly sent: Job[] = [];
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
    for (const job of [...this.sent.splice(0), ...this.waiting.splice(0)])
      job.reject(new SandboxFailure('stopped', job.stage, 'the model was unloaded'));
    const child = this.child;
    this.child = null;
    if (child) {
      child.dead = true;
      if (child.timer) clearTimeout(child.timer);
      child.settleLoad(new SandboxFailure('stopped', 'load', 'the model was unloaded'));
      child.process.kill('SIGKILL');
    }
  }

  private call(stage: Job['stage'], message: Record<string, unknown>): Promise<Answer> {
    if (this.closed) return Promise.reject(new SandboxFailure('stopped', stage, 'the model was unloaded'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: this.nextId++, stage, message, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Sends every waiting call to the loaded process at once, so it never idles between calls; each call's deadline
   * starts when the one before it is answered (headStarted), which is when the process starts it.
   */
  private dispatch(): void {
    if (this.closed || this.waiting.length === 0) return;
    const child = this.childNow();
    if (!child.ready) return;
    const wasIdle = this.sent.length === 0;
    for (const job of this.waiting.splice(0)) {
      this.sent.push(job);
      child.process.send({ id: job.id, ...job.message });
    }
    if (wasIdle) {
      busy(child.process, true);
      this.headStarted(child);
    }
  }

  /** Times the running call (the first sent), or lets an idle process go unreferenced. */
  private headStarted(child: Child): void {
    if (child.timer) clearTimeout(child.timer);
    child.timer = null;
    const head = this.sent[0];
    if (!head) {
      busy(child.process, false);
      return;
    }
    child.timer = setTimeout(
      () => this.kill(child, new SandboxFailure('deadline', head.stage, `${this.limits.deadlineMs} ms`)),
      this.limits.deadlineMs,
    );
  }

  private onAnswer(child: Child, answer: Answer): void {
    const head = this.sent[0];
    if (child !== this.child || head?.id !== answer.id) return;
    this.sent.shift();
    this.headStarted(child);
    if (answer.error) head.reject(new SandboxFailure(answer.error.kind, head.stage, answer.error.message));
    else head.resolve(answer);
  }

  private kill(child: Child, why: SandboxFailure): void {
    child.killedFor = why;
    child.process.kill('SIGKILL');
  }

  /**
   * A process ended (killed at a deadline, over its heap cap, or otherwise): the call it was running fails, or
   * its load, and the calls sent behind it, which it never started, go to the next process.
   */
  private onDeath(child: Child, why: SandboxFailure): void {
    if (child.dead) return;
    child.dead = true;
    if (child.timer) clearTimeout(child.timer);
    if (this.child === child) this.child = null;
    if (!child.ready) {
      child.settleLoad(why);
      for (const job of this.waiting.splice(0)) job.reject(new SandboxFailure(why.kind, 'load', why.detail));
      return;
    }
    const head = this.sent.shift();
    head?.reject(new SandboxFailure(why.kind, head.stage, why.detail));
    this.waiting.unshift(...this.sent.splice(0));
    this.dispatch();
  }

  /** The live process, or a new one (loading). */
  private childNow(): Child {
    if (this.child) return this.child;
    const { memoryMb, deadlineMs } = this.limits;
    const proc = fork(PROCESS_SCRIPT, [this.dir], {
      execArgv: [`--max-old-space-size=${memoryMb}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const child: Child = {
      process: proc,
      loaded: Promise.resolve(),
      ready: false,
      killedFor: null,
      dead: false,
      stderr: '',
      timer: null,
      settleLoad: () => {},
    };
    child.loaded = new Promise<void>((resolve, reject) => {
      child.settleLoad = (err) => (err ? reject(err) : resolve());
    });
    // Whoever awaits `loaded` sees a failure; this keeps an unawaited one from counting as unhandled.
    child.loaded.catch(() => {});
    child.timer = setTimeout(
      () => this.kill(child, new SandboxFailure('deadline', 'load', `${LOAD_DEADLINES * deadlineMs} ms`)),
      LOAD_DEADLINES * deadlineMs,
    );
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      child.stderr = (child.stderr + chunk).slice(-STDERR_TAIL);
    });
    (proc.stderr as Socket).unref();
    proc.on('message', (m: Answer & { loaded?: boolean }) => {
      if (m.loaded === undefined) return this.onAnswer(child, m);
      if (!m.loaded) return this.kill(child, new SandboxFailure('failed', 'load', m.error?.message ?? 'unknown error'));
      if (child.timer) clearTimeout(child.timer);
      child.timer = null;
      child.ready = true;
      busy(proc, false);
      child.settleLoad();
      this.dispatch();
    });
    // An IPC error (EPIPE to a process we killed at its deadline) keeps the reason we killed it for.
    proc.on('error', (err) => this.onDeath(child, child.killedFor ?? new SandboxFailure('stopped', 'load', err.message)));
    // 'close', not 'exit': by then stderr has been read to its end, with V8's heap-limit message.
    proc.on('close', (code, signal) =>
      this.onDeath(
        child,
        child.killedFor ??
          (/heap out of memory|Reached heap limit/.test(child.stderr)
            ? new SandboxFailure('memory', 'load', `${memoryMb} MiB`)
            : new SandboxFailure('stopped', 'load', `the tokenizer process exited (${signal ?? code})`)),
      ),
    );
    this.child = child;
    return child;
  }
}

const PROCESS_SCRIPT = fileURLToPath(new URL('./tokenizer-sandbox-process.js', import.meta.url));

/** A busy process keeps the backend alive until it answers; an idle one must not. */
function busy(child: ChildProcess, yes: boolean): void {
  if (yes) {
    child.ref();
    child.channel?.ref();
  } else {
    child.unref();
    child.channel?.unref();
  }
}
