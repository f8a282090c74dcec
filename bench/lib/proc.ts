// Reads a process's memory and CPU figures from /proc (Linux only), so servers are measured from outside.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';

export interface MemoryStatus {
  /** VmRSS: resident now. */
  readonly rssBytes: number;
  /** VmHWM: the highest RSS the process ever had. */
  readonly hwmBytes: number;
}

/** Lists the pids that make up one server (a master and its workers, or a single process). */
export type PidSource = () => Promise<number[]>;

const CLOCK_TICKS_PER_SECOND = readClockTicks();

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** Undefined when the process is gone. */
export async function readMemory(pid: number): Promise<MemoryStatus | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  return { rssBytes: statusKiB(text, 'VmRSS') * 1024, hwmBytes: statusKiB(text, 'VmHWM') * 1024 };
}

function statusKiB(text: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

/** The fields after the command name; the name sits in parentheses and may itself hold spaces or ')'. */
async function statFields(pid: number): Promise<string[] | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  return text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
}

/** The command name (comm) of a live process; synchronous so it also works in an 'exit' handler. */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** User + system CPU time of the process (all its threads), in seconds; 0 when it is gone. */
export async function readCpuSeconds(pid: number): Promise<number> {
  const fields = await statFields(pid);
  if (fields === undefined) return 0;
  // After the name: state, ppid, ... utime is field 14 of the whole line, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Direct children of `pid`, found by scanning /proc for a matching parent pid. */
export async function childPids(pid: number): Promise<number[]> {
  const entries = await readdir('/proc');
  const children: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = await statFields(Number(entry));
    if (fields !== undefined && Number(fields[1]) === pid) children.push(Number(entry));
  }
  return children;
}

export async function totalCpuSeconds(pids: PidSource): Promise<number> {
  const times = await Promise.all((await pids()).map(readCpuSeconds));
  return times.reduce((sum, value) => sum + value, 0);
}

/** Summed VmRSS of the server's processes (shared pages count once per process, as `ps` would show). */
export async function totalRssBytes(pids: PidSource): Promise<number> {
  const statuses = await Promise.all((await pids()).map(readMemory));
  return statuses.reduce((sum, status) => sum + (status?.rssBytes ?? 0), 0);
}
