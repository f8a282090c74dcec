/**
 * Runs an external tool (xorriso, unsquashfs, erofs-utils) without a shell, with bounded output
 * capture, a time limit and cancellation. A cancelled, timed-out or failed run settles only after
 * the child has exited, so the caller can remove the files the child was writing without racing it.
 * The child leads its own process group and is stopped with the whole group: a tool that is a
 * wrapper script must not leave its helpers running.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** The child failed to start, exited non-zero, was killed, or wrote more than allowed. */
export class ChildProcessError extends Error {
  override readonly name: string = 'ChildProcessError';

  constructor(
    message: string,
    readonly program: string,
    /** The tail of the child's stderr (at most `stderrTailBytes`). */
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

/** The child ran past its time limit and was killed. */
export class ChildTimeoutError extends ChildProcessError {
  override readonly name = 'ChildTimeoutError';
}

/** The caller's AbortSignal fired; `cause` is the signal's reason. */
export class OperationAbortedError extends Error {
  override readonly name = 'AbortError';
}

export interface RunChildOptions {
  signal?: AbortSignal;
  cwd?: string;
  /** Refuse (kill the child) beyond this much stdout; default 64 MiB. */
  maxStdoutBytes?: number;
  /** Keep only this much of the end of stderr, where tools put their verdict; default 64 KiB. */
  stderrTailBytes?: number;
  /** Time between SIGTERM and SIGKILL on cancellation or timeout; default 5 s. */
  killGraceMs?: number;
  /** Longest the child may run; unlimited when absent. */
  timeout?: ChildTimeout;
}

export interface ChildTimeout {
  readonly ms: number;
  /** What sets the limit (e.g. an environment variable), named in the error so an operator knows what to raise. */
  readonly setting?: string;
}

/** The options a step that runs several tools passes on to each of them. */
export type ToolLimits = Pick<RunChildOptions, 'signal' | 'timeout'>;

export interface ChildResult {
  stdout: Buffer;
  stderr: string;
}

const DEFAULT_MAX_STDOUT = 64 * 1024 * 1024;
const DEFAULT_STDERR_TAIL = 64 * 1024;
const DEFAULT_KILL_GRACE_MS = 5_000;

/** Throws OperationAbortedError when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw new OperationAbortedError(`${what} was aborted`, { cause: signal.reason });
}

/** Keeps the last `limit` bytes written to it. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private length = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length > 2 * this.limit) this.compact();
  }

  text(): string {
    this.compact();
    return this.chunks[0]?.toString('utf8') ?? '';
  }

  private compact(): void {
    const joined = Buffer.concat(this.chunks);
    const kept = joined.subarray(Math.max(0, joined.length - this.limit));
    this.chunks = [kept];
    this.length = kept.length;
  }
}

/** Runs `program` with `args`; resolves with its output when it exits with status 0. */
export async function runChild(program: string, args: string[], options: RunChildOptions = {}): Promise<ChildResult> {
  throwIfAborted(options.signal, program);
  return new Promise((resolve, reject) => {
    new ChildRun(program, options, resolve, reject).start(args);
  });
}

/** One run: collects output, turns abort/limit/exit into one settlement after the child is gone. */
class ChildRun {
  private readonly stdout: Buffer[] = [];
  private stdoutBytes = 0;
  private readonly stderr: TailBuffer;
  private failure: Error | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private settled = false;
  private child: ChildProcess | undefined;
  private readonly onAbort = (): void =>
    this.stop(new OperationAbortedError(`${this.program} was aborted`, { cause: this.options.signal?.reason }));

  constructor(
    private readonly program: string,
    private readonly options: RunChildOptions,
    private readonly resolve: (result: ChildResult) => void,
    private readonly reject: (error: Error) => void,
  ) {
    this.stderr = new TailBuffer(options.stderrTailBytes ?? DEFAULT_STDERR_TAIL);
  }

  start(args: string[]): void {
    // detached: the child leads a new process group, which stop() signals as a whole.
    const child = spawn(this.program, args, {
      cwd: this.options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
      detached: true,
    });
    this.child = child;
    this.options.signal?.addEventListener('abort', this.onAbort, { once: true });
    const timeout = this.options.timeout;
    if (timeout !== undefined)
      this.deadline = setTimeout(() => this.stop(timeoutError(this.program, timeout)), timeout.ms);
    child.stdout.on('data', (chunk: Buffer) => this.onStdout(chunk));
    child.stderr.on('data', (chunk: Buffer) => this.stderr.push(chunk));
    // A failed spawn (ENOENT, EACCES) emits 'error' and has no pid; 'close' may not follow.
    child.on('error', (error) => {
      this.failure ??= new ChildProcessError(`could not run ${this.program}: ${error.message}`, this.program, '', null);
      if (child.pid === undefined) this.finish(null, null);
    });
    child.on('close', (code, killedBy) => this.finish(code, killedBy));
  }

  private onStdout(chunk: Buffer): void {
    const limit = this.options.maxStdoutBytes ?? DEFAULT_MAX_STDOUT;
    this.stdoutBytes += chunk.length;
    if (this.stdoutBytes > limit) {
      this.stop(
        new ChildProcessError(`${this.program} wrote more than ${limit} bytes to stdout`, this.program, '', null),
      );
    } else if (this.failure === undefined) {
      this.stdout.push(chunk);
    }
  }

  /**
   * SIGTERM to the child's process group, SIGKILL after the grace period. Also when the child itself has exited:
   * until 'close', something it started still holds its output pipes open.
   */
  private stop(reason: Error): void {
    this.failure ??= reason;
    const pid = this.child?.pid;
    if (this.settled || pid === undefined) return;
    this.signal(pid, 'SIGTERM');
    this.killTimer ??= setTimeout(() => this.signal(pid, 'SIGKILL'), this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  }

  /** Signals every process of the child's group; one that is gone already is no error. */
  private signal(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(-pid, signal);
    } catch (error) {
      // Not the group's to signal (should not happen): the child itself at least.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') this.child?.kill(signal);
    }
  }

  private finish(code: number | null, killedBy: NodeJS.Signals | null): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.killTimer);
    clearTimeout(this.deadline);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    const stderr = this.stderr.text();
    if (this.failure !== undefined) this.reject(withStderr(this.failure, stderr));
    else if (code === 0) this.resolve({ stdout: Buffer.concat(this.stdout), stderr });
    else this.reject(exitError(this.program, stderr, code, killedBy));
  }
}

function timeoutError(program: string, timeout: ChildTimeout): ChildTimeoutError {
  const setting = timeout.setting === undefined ? '' : ` (${timeout.setting})`;
  return new ChildTimeoutError(`${program} did not finish within ${timeout.ms / 1000} s${setting}`, program, '', null);
}

function withStderr(error: Error, stderr: string): Error {
  if (!(error instanceof ChildProcessError) || error.stderr !== '') return error;
  const Kind = error instanceof ChildTimeoutError ? ChildTimeoutError : ChildProcessError;
  return new Kind(error.message, error.program, stderr, error.exitCode);
}

function exitError(program: string, stderr: string, code: number | null, killedBy: NodeJS.Signals | null): Error {
  const how = killedBy !== null ? `was killed by ${killedBy}` : `exited with status ${code}`;
  const tail = lastLines(stderr, 5);
  return new ChildProcessError(`${program} ${how}${tail === '' ? '' : `: ${tail}`}`, program, stderr, code);
}

/** The last `count` non-empty lines, joined with ' | ' for a one-line message. */
export function lastLines(text: string, count: number): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(-count)
    .join(' | ');
}
