// Linux `perf` around a workload, for bench/profile.ts: samples every thread of the service with the kernel part of
// each stack, so socket writes, file reads in the threadpool, page faults and GC show up by their real names. The
// service needs `--perf-basic-prof` in NODE_OPTIONS for JS function names (otherwise JS frames are addresses).
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { killOnExit } from './lifetime.js';

export interface PerfRecording {
  readonly file: string;
  stop(): Promise<void>;
}

export function startPerf(
  pid: number,
  workDir = path.join(import.meta.dirname, '..', '.work', 'profile'),
): PerfRecording {
  const file = path.join(workDir, 'perf.data');
  const child = spawn('perf', ['record', '-F', '1999', '-g', '-p', String(pid), '-o', file], { stdio: 'ignore' });
  killOnExit(child);
  return {
    file,
    stop: async () => {
      child.kill('SIGINT');
      await once(child, 'exit');
    },
  };
}

function perf(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('perf', args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`perf ${args[0]}: ${stderr}`)),
    );
  });
}

/** Self time by thread, then by symbol (top 40), then kernel vs user. */
export async function perfReport(file: string): Promise<string> {
  const common = ['report', '-i', file, '--stdio', '--no-children', '-g', 'none', '--percent-limit', '0.4'];
  const byThread = await perf([...common, '--sort', 'comm']);
  const bySymbol = await perf([...common, '--sort', 'comm,sym']);
  const strip = (text: string): string =>
    text
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .slice(0, 60)
      .join('\n');
  return `perf, by thread:\n${strip(byThread)}\nperf, by thread and symbol:\n${strip(bySymbol)}`;
}

/** `--perf-basic-prof` leaves /tmp/perf-<pid>.map and, in the working directory, isolate-…-<pid>-v8.log behind. */
export async function removePerfLeftovers(pid: number): Promise<void> {
  const logs = (await readdir(process.cwd())).filter(
    (name) => name.startsWith('isolate-') && name.endsWith(`-${pid}-v8.log`),
  );
  await Promise.all([
    ...logs.map((name) => rm(path.join(process.cwd(), name), { force: true })),
    rm(`/tmp/perf-${pid}.map`, { force: true }),
  ]);
}
