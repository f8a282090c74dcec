/** External tools without a shell: bounded output, a time limit, cancellation (see docs/architecture.md). */
import { spawn, type ChildProcess } from 'node:child_process';
import { IsoError } from './iso9660.js';

export class ChildProcessError extends IsoError {
  constructor(
    message: string,
    /** The tail of the child's stderr. */
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

export class ChildTimeoutError extends ChildProcessError {}

/** The caller's AbortSignal fired; `cause` is the signal's reason. */
export class OperationAbortedError extends Error {
  override readonly name = 'AbortError';
}

/** `setting` (e.g. an environment variable) is named in the error, so that an operator knows what to raise. */
type ChildTimeout = { readonly ms: number; readonly setting?: string };
/** What a job that runs tools takes: it makes a private subdirectory in `workDir` and removes it afterwards. */
export type ToolOptions = { workDir: string; signal?: AbortSignal; timeout?: ChildTimeout };

interface RunChildOptions extends Omit<ToolOptions, 'workDir'> {
  /** The child is killed past this much stdout; default 64 MiB. */
  maxStdoutBytes?: number;
  /** Only the end of stderr is kept, where tools put their verdict; default 64 KiB. */
  stderrTailBytes?: number;
  /** Between SIGTERM and SIGKILL; default 5 s. */
  killGraceMs?: number;
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw new OperationAbortedError(`${what} was aborted`, { cause: signal.reason });
}

/** Resolves with the output on exit status 0; a failure settles only once the child's process group is gone. */
export async function runChild(program: string, args: string[], options: RunChildOptions = {}) {
  throwIfAborted(options.signal, program);
  const { signal, timeout, maxStdoutBytes = 64 << 20, stderrTailBytes = 64 << 10, killGraceMs = 5_000 } = options;
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const stdout: Buffer[] = [];
  let [stdoutBytes, stderr] = [0, Buffer.alloc(0)];
  // Why the run failed, made into an error once the child is gone and its stderr known.
  let failure: ((stderr: string) => Error) | undefined;
  const failed = (message: string) => (stderr: string) => new ChildProcessError(message, stderr, null);
  let settled = false;
  let killTimer: NodeJS.Timeout | undefined;
  // Also after the child itself exited: until 'close', something it started still holds its pipes open.
  const stop = (reason: (stderr: string) => Error): void => {
    failure ??= reason;
    const pid = child.pid;
    if (settled || pid === undefined) return;
    signalGroup(child, pid, 'SIGTERM');
    killTimer ??= setTimeout(() => signalGroup(child, pid, 'SIGKILL'), killGraceMs);
  };
  const onAbort = (): void =>
    stop(() => new OperationAbortedError(`${program} was aborted`, { cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  const deadline = timeout && setTimeout(() => stop((stderr) => timeoutError(program, timeout, stderr)), timeout.ms);
  child.stdout.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length;
    if (stdoutBytes > maxStdoutBytes) stop(failed(`${program} wrote more than ${maxStdoutBytes} bytes to stdout`));
    else if (failure === undefined) stdout.push(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    const joined = Buffer.concat([stderr, chunk]);
    stderr = joined.subarray(Math.max(0, joined.length - stderrTailBytes));
  });
  return new Promise<{ stdout: Buffer; stderr: string }>((resolve, reject) => {
    const finish = (code: number | null, killedBy: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      const text = stderr.toString('utf8');
      if (failure !== undefined) return reject(failure(text));
      if (code === 0) return resolve({ stdout: Buffer.concat(stdout), stderr: text });
      const how = killedBy !== null ? `was killed by ${killedBy}` : `exited with status ${code}`;
      const tail = lastLines(text, 5);
      reject(new ChildProcessError(`${program} ${how}${tail === '' ? '' : `: ${tail}`}`, text, code));
    };
    // A failed spawn (ENOENT, EACCES) emits 'error' and has no pid; 'close' may not follow.
    child.on('error', (error) => {
      failure ??= failed(`could not run ${program}: ${error.message}`);
      if (child.pid === undefined) finish(null, null);
    });
    child.on('close', finish);
  });
}

function timeoutError(program: string, timeout: ChildTimeout, stderr: string): ChildTimeoutError {
  const setting = timeout.setting === undefined ? '' : ` (${timeout.setting})`;
  return new ChildTimeoutError(`${program} did not finish within ${timeout.ms / 1000} s${setting}`, stderr, null);
}

/** Signals the child's whole process group; ESRCH: it is gone already; anything else: at least the child itself. */
function signalGroup(child: ChildProcess, pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') child.kill(signal);
  }
}

export function lastLines(text: string, count: number): string {
  const nonEmpty = text.split('\n').flatMap((line) => line.trim() || []);
  return nonEmpty.slice(-count).join(' | ');
}
