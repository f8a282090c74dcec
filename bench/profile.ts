// `npx tsx bench/profile.ts`: one workload against the built service run with the V8 CPU profiler on, then a table of
// where the main thread spent its time, next to the process's CPU (all threads) and peak RSS for the workload.
// A tool for finding what costs, not a bench: the profiler itself adds some overhead. See bench/README.md.
//
// Flags: --workload=full|concurrent|range (default full), --count=N (downloads; default 3 for full, 64 for
// concurrent), --seconds=N (range, and the cap of concurrent; default 10), --rootfs-mib=N (default 1024),
// --node-options="..." (added to NODE_OPTIONS), --no-prof (measure without the profiler), --top=N, --perf (record
// the workload with Linux `perf` as well, all threads and the kernel included: where the V8 profile says only
// "(native)").
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { startBenchAssisted } from './lib/assisted.js';
import { formatSummary, readProfile, summarizeProfile } from './lib/cpu-profile.js';
import { ARCH, MiB, RHCOS_VERSION, buildBenchIso, type BenchIso } from './lib/fixture.js';
import { hostLoad } from './lib/host.js';
import { download, downloadConcurrently } from './lib/http-load.js';
import { onCleanup, runBench, sleep } from './lib/lifetime.js';
import { totalCpuSeconds } from './lib/proc.js';
import { perfReport, removePerfLeftovers, startPerf } from './lib/perf-record.js';
import { RssSampler } from './lib/sampler.js';
import { startBenchService, waitUntilReady, type BenchService } from './lib/service.js';
import { GB, MB, percentile } from './lib/table.js';
import { runWrkRange } from './lib/wrk-range.js';

const WORK = path.join(import.meta.dirname, '.work', 'profile');

function flag(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

const workload = flag('workload') ?? 'full';
const seconds = Number(flag('seconds') ?? 10);
const count = Number(flag('count') ?? (workload === 'concurrent' ? 64 : 3));
const rootfsBytes = Number(flag('rootfs-mib') ?? 1024) * MiB;
const profiling = !process.argv.includes('--no-prof');
const top = Number(flag('top') ?? 30);
const usePerf = process.argv.includes('--perf');

/** The fixture is reused between runs of the same size: building it costs more than most workloads. */
async function fixture(): Promise<BenchIso> {
  const dir = path.join(WORK, `iso-${rootfsBytes / MiB}`);
  const existing = await stat(path.join(dir, 'base.iso')).catch(() => undefined);
  if (existing !== undefined) return { path: path.join(dir, 'base.iso'), size: existing.size };
  await mkdir(dir, { recursive: true });
  return buildBenchIso(dir, rootfsBytes);
}

/** Runs the workload; resolves with the body bytes received. */
async function runWorkload(url: URL, size: number): Promise<number> {
  if (workload === 'full') {
    let bytes = 0;
    for (let run = 0; run < count; run++) bytes += (await download(url, AbortSignal.timeout(120_000))).bytes;
    return bytes;
  }
  if (workload === 'concurrent') {
    const run = await downloadConcurrently(url, count, seconds * 1000);
    const ttfb = run.results.map((result) => result.ttfbMs).filter(Number.isFinite);
    console.log(
      `${count} concurrent: ${run.failures.length} failed, ${run.cut} cut; TTFB p50 ${percentile(ttfb, 0.5).toFixed(1)} ms`,
    );
    return run.bytes;
  }
  if (workload === 'range') {
    const result = await runWrkRange({ url, fileSize: size, workDir: WORK, seconds, connections: 16, threads: 2 });
    console.log(
      `range: ${result.requestsPerSecond.toFixed(0)} req/s, ${result.wrong} wrong, p50 ${result.latencyP50Ms} ms, p99 ${result.latencyP99Ms} ms`,
    );
    return result.partialOk * 64 * 1024;
  }
  throw new Error(`unknown workload ${workload}`);
}

/** The second SIGUSR2 makes the preload write the profile; waits until the file is there. */
async function stopProfiler(pid: number, file: string): Promise<void> {
  process.kill(pid, 'SIGUSR2');
  for (let tries = 0; tries < 100; tries++) {
    if (((await stat(file).catch(() => undefined))?.size ?? 0) > 0) return;
    await sleep(100);
  }
  throw new Error(`the service wrote no profile to ${file}`);
}

interface Measured {
  readonly bytes: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly rssFirstBytes: number;
  readonly rssPeakBytes: number;
}

/** The workload with the service's CPU and RSS around it, and the profilers on for exactly that window. */
async function measure(
  service: BenchService,
  url: URL,
  isoSize: number,
  profileFile: string,
): Promise<Measured & { perfFile?: string }> {
  const pids = async (): Promise<number[]> => [service.pid];
  const sampler = new RssSampler(pids).start();
  if (profiling) process.kill(service.pid, 'SIGUSR2');
  const perf = usePerf ? startPerf(service.pid) : undefined;
  const cpuBefore = await totalCpuSeconds(pids);
  const started = performance.now();
  const bytes = await runWorkload(url, isoSize);
  const wallSeconds = (performance.now() - started) / 1000;
  const cpuSeconds = (await totalCpuSeconds(pids)) - cpuBefore;
  const rss = await sampler.stop();
  if (profiling) await stopProfiler(service.pid, profileFile);
  await perf?.stop();
  return {
    bytes,
    wallSeconds,
    cpuSeconds,
    rssFirstBytes: rss.firstBytes,
    rssPeakBytes: rss.peakBytes,
    ...(perf && { perfFile: perf.file }),
  };
}

function describe(m: Measured): string {
  const perGB = m.cpuSeconds / (m.bytes / GB);
  return (
    `${(m.bytes / MB).toFixed(0)} MB in ${m.wallSeconds.toFixed(2)} s (${(m.bytes / MB / m.wallSeconds).toFixed(0)} MB/s); ` +
    `server CPU ${m.cpuSeconds.toFixed(2)} s = ${perGB.toFixed(3)} s/GB; RSS first ${(m.rssFirstBytes / MB).toFixed(0)} MB, peak ${(m.rssPeakBytes / MB).toFixed(0)} MB`
  );
}

async function main(): Promise<void> {
  const iso = await fixture();
  const runDir = path.join(WORK, 'run');
  const profileDir = path.join(WORK, 'cpuprofile');
  await Promise.all([rm(runDir, { recursive: true, force: true }), rm(profileDir, { recursive: true, force: true })]);
  await mkdir(profileDir, { recursive: true });
  const profileFile = path.join(profileDir, 'service.cpuprofile');
  const nodeOptions = [
    profiling ? `--import=${path.join(import.meta.dirname, 'lib', 'cpu-prof-preload.mjs')}` : '',
    flag('node-options') ?? '',
  ]
    .join(' ')
    .trim();
  console.log(`${workload}: ${hostLoad()}; NODE_OPTIONS=${nodeOptions || '(none)'}`);
  const assisted = await startBenchAssisted();
  const env = { NODE_OPTIONS: nodeOptions, ...(profiling && { BENCH_CPU_PROFILE: profileFile }) };
  const service = await startBenchService({
    workDir: runDir,
    isoUrl: `file://${iso.path}`,
    assistedUrl: assisted.url,
    env,
  });
  onCleanup(() => service.stop());
  await waitUntilReady(service, 200, 5 * 60_000);
  const url = new URL(
    `${service.baseUrl}/images/${assisted.infraEnvId}?version=${RHCOS_VERSION}&type=full-iso&arch=${ARCH}`,
  );
  await download(url, AbortSignal.timeout(120_000)); // warm-up: page cache, JIT, customisation cache
  const measured = await measure(service, url, iso.size, profileFile);
  console.log(describe(measured));
  const stderrTail = service.process.stderr.slice(-12);
  if (stderrTail.length > 0) console.log(`service stderr (last lines):\n${stderrTail.join('\n')}`);
  await service.stop();
  if (measured.perfFile !== undefined) console.log(await perfReport(measured.perfFile));
  await removePerfLeftovers(service.pid);
  if (profiling) console.log(formatSummary(summarizeProfile(await readProfile(profileFile), top), measured.bytes / GB));
}

runBench('profile', 15 * 60_000, main);
