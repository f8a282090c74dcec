// Keeps every bench run bounded: one overall deadline, and cleanups (child processes, servers) that run on
// success, failure, Ctrl-C or timeout alike.
type Cleanup = () => Promise<void> | void;

const cleanups: Cleanup[] = [];
let stopping = false;

/** True once the run is ending (deadline, signal, error or done): late progress lines are noise then. */
export function isStopping(): boolean {
  return stopping;
}

/** Registered cleanups run last-in first-out. */
export function onCleanup(cleanup: Cleanup): void {
  cleanups.push(cleanup);
}

async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      process.stderr.write(`cleanup failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}

/**
 * Runs `main` with an overall deadline; on timeout, a signal or an error, cleans up and exits non-zero.
 * Exit codes: 0 done, 1 failed, 2 timed out, 130 interrupted.
 */
export function runBench(name: string, deadlineMs: number, main: () => Promise<void>): void {
  const finish = async (code: number, message?: string): Promise<never> => {
    stopping = true;
    if (message !== undefined) process.stderr.write(`${name}: ${message}\n`);
    await runCleanups();
    process.exit(code);
  };
  const timer = setTimeout(
    () => void finish(2, `overall deadline of ${Math.round(deadlineMs / 1000)} s reached; stopped`),
    deadlineMs,
  );
  process.once('SIGINT', () => void finish(130, 'interrupted'));
  process.once('SIGTERM', () => void finish(130, 'terminated'));
  main().then(
    () => (clearTimeout(timer), finish(0)),
    (error: unknown) => (
      clearTimeout(timer),
      finish(1, error instanceof Error ? (error.stack ?? error.message) : String(error))
    ),
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Last resort when the bench dies without running cleanups: children must not outlive it. */
export function killOnExit(child: {
  readonly pid?: number | undefined;
  kill(signal: NodeJS.Signals): boolean;
  readonly exitCode: number | null;
}): void {
  process.once('exit', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
}
