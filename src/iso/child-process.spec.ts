import { describe, it, expect } from 'vitest';
import { readFile } from 'node:fs/promises';
import { ChildProcessError, OperationAbortedError, lastLines, runChild } from './child-process.js';

/** True while a process with this pid exists (and is not a zombie we could still reap). */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const status = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(status);
  } catch {
    return false;
  }
}

describe('runChild', () => {
  it('resolves with stdout and stderr of a successful run, arguments passed without a shell', async () => {
    const result = await runChild('printf', ['%s|%s', 'a b', '$HOME']);
    expect(result.stdout.toString()).toBe('a b|$HOME');
  });

  it('rejects a non-zero exit with ChildProcessError carrying the stderr tail', async () => {
    const error = await runChild('sh', ['-c', 'echo first >&2; echo "the real reason" >&2; exit 3'])
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChildProcessError);
    expect((error as ChildProcessError).exitCode).toBe(3);
    expect((error as ChildProcessError).message).toMatch(/exited with status 3: first \| the real reason/);
  });

  it('rejects a missing program with ChildProcessError', async () => {
    await expect(runChild('/nonexistent/tool', [])).rejects.toThrow(/could not run \/nonexistent\/tool/);
  });

  it('keeps only the tail of a long stderr', async () => {
    const error = await runChild('sh', ['-c', 'yes noise | head -c 1000000 >&2; echo verdict >&2; exit 1'],
      { stderrTailBytes: 1024 }).catch((caught: unknown) => caught as ChildProcessError);
    expect(error.stderr.length).toBeLessThanOrEqual(1024);
    expect(error.stderr.trim().endsWith('verdict')).toBe(true);
  });

  it('kills a child that writes more stdout than allowed', async () => {
    await expect(runChild('yes', [], { maxStdoutBytes: 100_000 })).rejects.toThrow(/more than 100000 bytes to stdout/);
  });

  it('rejects an abort with OperationAbortedError whose cause is the signal reason', async () => {
    const controller = new AbortController();
    const run = runChild('sleep', ['30'], { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const reason = new Error('client went away');
    controller.abort(reason);
    const error = await run.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OperationAbortedError);
    expect((error as OperationAbortedError).cause).toBe(reason);
  });

  it('escalates to SIGKILL when the child ignores SIGTERM', async () => {
    const controller = new AbortController();
    const run = runChild('sh', ['-c', 'trap "" TERM; while :; do sleep 0.05; done'],
      { signal: controller.signal, killGraceMs: 100 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    await expect(run).rejects.toThrow(OperationAbortedError);
  });

  it('refuses to start when the signal has already fired', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(runChild('true', [], { signal: controller.signal })).rejects.toThrow(OperationAbortedError);
  });

  it('formats the last lines of a message', () => {
    expect(lastLines('a\n\n b \nc\n', 2)).toBe('b | c');
  });

  it('leaves no process behind after an abort', async () => {
    const controller = new AbortController();
    const run = runChild('sleep', ['30'], { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const children = await childPids();
    controller.abort();
    await run.catch(() => undefined);
    for (const pid of children) expect(await isRunning(pid)).toBe(false);
    expect(children.length).toBeGreaterThan(0);
  });
});

/** Pids of this process's children, read from /proc. */
async function childPids(): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const parent = /^\d+ \(.*\) \S (\d+) /.exec(stat)?.[1];
    if (Number(parent) === process.pid) pids.push(Number(entry));
  }
  return pids;
}
