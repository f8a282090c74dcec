import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { promisify } from 'node:util';

/** The strace command line a service runs under: every open of every thread and child, with times and fd paths. */
export function straceWrapper(traceFile: string): string[] {
  // -ttt: epoch timestamps, to keep only opens after a moment; -y: the path behind every fd (dirfds and results);
  // -s: whole paths; --seccomp-bpf: the other syscalls run at full speed.
  return [
    'strace',
    '-f',
    '-ttt',
    '-y',
    '-s',
    '65536',
    '--seccomp-bpf',
    '-e',
    'trace=open,openat,openat2',
    '-o',
    traceFile,
  ];
}

/** Undefined when strace can trace here; otherwise why not (not installed, ptrace not permitted). */
export async function straceUnavailable(): Promise<string | undefined> {
  try {
    await promisify(execFile)('strace', ['-f', '--seccomp-bpf', '-e', 'trace=openat', '-o', '/dev/null', 'true']);
    return undefined;
  } catch (error) {
    return `strace cannot trace here: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  }
}

export interface TracedOpen {
  readonly pid: number;
  /** Seconds since the epoch. */
  readonly time: number;
  /** The path as the call named it, made absolute against its dirfd or the working directory. */
  readonly requested?: string;
  /** The file the call opened, as the kernel names the new fd; absent when the open failed. */
  readonly opened?: string;
  readonly line: string;
}

/** Decodes strace's C-style string escapes (`\n`, `\x7f`, `\303\251`) back into the bytes of the path. */
function unescapeStrace(text: string): string {
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, '\\': 92, '"': 34 };
  for (let i = 0; i < text.length; i++) {
    const char = text[i] ?? '';
    const next = text[i + 1] ?? '';
    if (char !== '\\') {
      bytes.push(...Buffer.from(char, 'utf8'));
    } else if (next === 'x') {
      bytes.push(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (/[0-7]/.test(next)) {
      const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1))?.[0] ?? '0';
      bytes.push(Number.parseInt(octal, 8));
      i += octal.length;
    } else {
      bytes.push(simple[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const LINE = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/;
// openat(AT_FDCWD</work>, "path", ...  |  openat(3</dir>, "path", ...  |  open("path", ...
const CALL = /\bopen(?:at2?)?\((?:(AT_FDCWD|\d+)(?:<((?:[^>\\]|\\.)*)>)?, )?"((?:[^"\\]|\\.)*)"/;
const RESULT = /= \d+<((?:[^>\\]|\\.)*)>\s*$/;

/** Every open in an strace -f -ttt -y log, with the path it asked for and the file it got. */
function parseOpenTrace(text: string, cwd: string): TracedOpen[] {
  const opens: TracedOpen[] = [];
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (match === null) continue;
    const [, pid = '0', time = '0', rest = ''] = match;
    const call = CALL.exec(rest);
    const result = RESULT.exec(rest);
    if (call === null && result === null) continue;
    const base = call?.[2] !== undefined ? unescapeStrace(call[2]) : cwd;
    const named = call?.[3] === undefined ? undefined : unescapeStrace(call[3]);
    opens.push({
      pid: Number(pid),
      time: Number(time),
      ...(named !== undefined && { requested: isAbsolute(named) ? resolve(named) : resolve(base, named) }),
      ...(result?.[1] !== undefined && { opened: unescapeStrace(result[1]) }),
      line,
    });
  }
  return opens;
}

export async function readOpenTrace(traceFile: string, cwd: string): Promise<TracedOpen[]> {
  return parseOpenTrace(await readFile(traceFile, 'utf8'), cwd);
}

/** The pids of a process's direct children (Linux /proc): the service that strace started is its only child. */
export async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

/** Whether `path` is `root` or inside it. */
export function isInside(path: string, root: string): boolean {
  const normalRoot = resolve(root);
  return path === normalRoot || path.startsWith(`${normalRoot}/`);
}
