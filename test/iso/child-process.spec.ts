import { describe, it, expect } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildProcessError, ChildTimeoutError, OperationAbortedError, runChild } from '../../src/iso/child-process.js';

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
    const error = await runChild('sh', ['-c', 'echo first >&2; echo "the real reason" >&2; exit 3']).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ChildProcessError);
    expect((error as ChildProcessError).exitCode).toBe(3);
    expect((error as ChildProcessError).message).toMatch(/exited with status 3: first \| the real reason/);
  });

  it('rejects a missing program with ChildProcessError', async () => {
    await expect(runChild('/nonexistent/tool', [])).rejects.toThrow(/could not run \/nonexistent\/tool/);
  });

  it('keeps only the tail of a long stderr', async () => {
    const error = await runChild('sh', ['-c', 'yes noise | head -c 1000000 >&2; echo verdict >&2; exit 1'], {
      stderrTailBytes: 1024,
    }).catch((caught: unknown) => caught as ChildProcessError);
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
    const run = runChild('sh', ['-c', 'trap "" TERM; while :; do sleep 0.05; done'], {
      signal: controller.signal,
      killGraceMs: 100,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    await expect(run).rejects.toThrow(OperationAbortedError);
  });

  it('refuses to start when the signal has already fired', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(runChild('true', [], { signal: controller.signal })).rejects.toThrow(OperationAbortedError);
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

describe('runChild time limit', () => {
  it('kills a child that runs past its limit and names the limit and what sets it', async () => {
    const error = await runChild('sleep', ['30'], { timeout: { ms: 200, setting: 'TOOL_TIMEOUT_SECONDS' } }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ChildTimeoutError);
    expect(error).toBeInstanceOf(ChildProcessError);
    expect((error as Error).message).toBe('sleep did not finish within 0.2 s (TOOL_TIMEOUT_SECONDS)');
  });

  it('resolves a child that finishes within its limit', async () => {
    const result = await runChild('sh', ['-c', 'echo done'], { timeout: { ms: 30_000 } });
    expect(result.stdout.toString()).toBe('done\n');
  });

  it('stops what the child started too: a wrapper script leaves no helper running', async () => {
    await withPidFile(async (pidFile) => {
      // The limit leaves the script ample time to start its helper and say so.
      const run = runChild('sh', ['-c', 'sleep 30 & echo $! > "$0"; wait', pidFile], { timeout: { ms: 2_000 } });
      await expect(run).rejects.toThrow(ChildTimeoutError);
      await expectGone(pidFile);
    });
  });

  it('escalates to SIGKILL when the child and its helper ignore SIGTERM', async () => {
    await withPidFile(async (pidFile) => {
      // Ignored signals stay ignored in the helper, and `wait` returns early on a signal: wait again.
      const script = 'trap "" TERM; sleep 30 & echo $! > "$0"; wait; wait';
      const run = runChild('sh', ['-c', script, pidFile], { timeout: { ms: 2_000 }, killGraceMs: 200 });
      await expect(run).rejects.toThrow(/sh did not finish within 2 s/);
      await expectGone(pidFile);
    });
  });
});

/** Runs `use` with the path of a file a test script writes its helper's pid to; kills that helper in any case. */
async function withPidFile(use: (pidFile: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'child-process-'));
  const pidFile = join(dir, 'helper.pid');
  try {
    await use(pidFile);
  } finally {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (pid > 0 && (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).startsWith('sleep'))
      process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

/** The helper whose pid the script wrote is no longer running. */
async function expectGone(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  expect(pid).toBeGreaterThan(0);
  expect(await isRunning(pid)).toBe(false);
}

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
