// An idle Node process that measures its own event-loop lag the way prom-client does (monitorEventLoopDelay,
// 10 ms resolution). It does no work, so its lag is what the machine's CPU contention alone costs a Node loop: the
// control to read the service's lag against on a shared or busy box.
import { spawn, type ChildProcess } from 'node:child_process';
import { killOnExit, onCleanup } from './lifetime.js';

const SCRIPT = `
const { monitorEventLoopDelay } = require('node:perf_hooks');
const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
setInterval(() => {
  process.stdout.write(JSON.stringify({ p99Ms: histogram.percentile(99) / 1e6 }) + '\\n');
  histogram.reset();
}, 1000);
`;

export class LagCanary {
  private readonly child: ChildProcess;
  /** Per-second p99 figures not yet taken. */
  private pending: number[] = [];

  constructor() {
    this.child = spawn(process.execPath, ['-e', SCRIPT], { stdio: ['ignore', 'pipe', 'ignore'] });
    killOnExit(this.child);
    onCleanup(() => this.stop());
    let partial = '';
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.accept(line);
    });
  }

  /** The worst per-second p99 since the previous call; undefined when none arrived. */
  takeWorstP99Ms(): number | undefined {
    const figures = this.pending;
    this.pending = [];
    return figures.length === 0 ? undefined : Math.max(...figures);
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }

  private accept(line: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof parsed === 'object' && parsed !== null && 'p99Ms' in parsed && typeof parsed.p99Ms === 'number')
      this.pending.push(parsed.p99Ms);
  }
}
