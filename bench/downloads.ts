// `npm run bench`: the service against a static baseline (nginx with sendfile) serving the same base ISO on
// 127.0.0.1. Prints a side-by-side table and writes bench/.work/results.json. See bench/README.md.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBenchAssisted } from './lib/assisted.js';
import { startBaseline } from './lib/baseline.js';
import { downloadsTable, type ColumnResult } from './lib/downloads-report.js';
import { ARCH, CACHE_FILE_NAME, GiB, MiB, RHCOS_VERSION, buildBenchIso } from './lib/fixture.js';
import { hostLoad } from './lib/host.js';
import { probe } from './lib/http-load.js';
import { isStopping, onCleanup, runBench } from './lib/lifetime.js';
import { startBenchService, waitUntilReady } from './lib/service.js';
import { runSuite, type SuiteConfig, type SuiteResult } from './lib/suite.js';

const WORK = path.join(import.meta.dirname, '.work');
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const timeoutArg = process.argv.find((arg) => arg.startsWith('--timeout-s='));
/** `--node-options="…"`: NODE_OPTIONS for the service, e.g. to measure a setting before putting it in the Dockerfile. */
const nodeOptions = process.argv.find((arg) => arg.startsWith('--node-options='))?.slice('--node-options='.length);

const plan = {
  rootfsBytes: quick ? 256 * MiB : GiB,
  levels: quick ? [1, 8] : [1, 16, 64],
  wrkSeconds: quick ? 5 : 10,
  deadlineMs: (timeoutArg === undefined ? (quick ? 240 : 600) : Number(timeoutArg.split('=')[1])) * 1000,
  syncTimeoutMs: 5 * 60_000,
  phaseCapMs: quick ? 20_000 : 45_000,
};

function log(line: string): void {
  if (!isStopping()) process.stdout.write(`${line}\n`);
}

/** The route answers a real image (200, or 206 to the one-byte Range) or the column says why not. */
async function serviceColumn(url: URL, ready: string | true): Promise<ColumnResult | URL> {
  if (ready !== true) return { unavailable: `service not ready: ${ready.slice(0, 60)}` };
  const answer = await probe(url, { range: 'bytes=0-0' }, 30_000).catch((error: unknown) => ({ status: 0, error }));
  if (answer.status === 200 || answer.status === 206) return url;
  return { unavailable: `route not available (HTTP ${answer.status})` };
}

interface ServiceUnderTest {
  readonly pid: number;
  /** The image URL to measure, or why the service column has no figures. */
  readonly column: ColumnResult | URL;
  /** The service's cached copy of the ISO once synced (the baseline serves it too), else the fixture. */
  readonly servedFile: string;
  readonly assistedCalls: () => number;
}

async function startServiceUnderTest(work: string, isoPath: string): Promise<ServiceUnderTest> {
  const assisted = await startBenchAssisted();
  const service = await startBenchService({
    workDir: path.join(work, 'service'),
    isoUrl: `file://${isoPath}`,
    assistedUrl: assisted.url,
    ...(nodeOptions !== undefined && { env: { NODE_OPTIONS: nodeOptions } }),
  });
  onCleanup(() => service.stop());
  const ready = await waitUntilReady(service, 200, plan.syncTimeoutMs).then(
    () => true as const,
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );
  log(ready === true ? `service ready on ${service.baseUrl}` : `service not ready: ${ready}`);
  const url = new URL(
    `${service.baseUrl}/images/${assisted.infraEnvId}?version=${RHCOS_VERSION}&type=full-iso&arch=${ARCH}`,
  );
  return {
    pid: service.pid,
    column: await serviceColumn(url, ready),
    // The very same file for both, dense on disk like a real cache (the fixture is sparse).
    servedFile: ready === true ? path.join(service.dataDir, CACHE_FILE_NAME) : isoPath,
    assistedCalls: assisted.callCount,
  };
}

async function main(): Promise<void> {
  const work = path.join(WORK, 'downloads');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  onCleanup(() => rm(path.join(work, 'service'), { recursive: true, force: true }));
  log(
    `mode: ${quick ? 'quick' : 'full'}; fixture rootfs ${plan.rootfsBytes / MiB} MiB; concurrency ${plan.levels.join(', ')}; deadline ${plan.deadlineMs / 1000} s` +
      (nodeOptions === undefined ? '' : `; service NODE_OPTIONS=${nodeOptions}`),
  );
  const iso = await buildBenchIso(work, plan.rootfsBytes);
  log(`fixture ${iso.path}: ${iso.size} bytes; ${hostLoad()}`);
  const service = await startServiceUnderTest(work, iso.path);

  const config: SuiteConfig = {
    levels: plan.levels,
    singleStreamRuns: 3,
    fileSize: iso.size,
    phaseCapMs: plan.phaseCapMs,
    wrkSeconds: plan.wrkSeconds,
    wrkConnections: 16,
    wrkThreads: 2,
    workDir: work,
  };
  const baseline = await startBaseline(service.servedFile, work, args.has('--node-baseline'));
  onCleanup(() => baseline.stop());
  log(`baseline: ${baseline.label} on ${baseline.url.href} serving ${service.servedFile}`);
  const baselineResult = await runSuite(baseline, config, log);
  await baseline.stop();

  let serviceResult = service.column;
  if (serviceResult instanceof URL) {
    log(`service: ${serviceResult.href}`);
    serviceResult = await runSuite(
      { label: 'service', url: serviceResult, pids: async () => [service.pid] },
      config,
      log,
    );
    log(`  stand-in assisted-service answered ${service.assistedCalls()} calls`);
  }
  await report(iso.size, config, baselineResult, serviceResult);
}

async function report(
  isoBytes: number,
  config: SuiteConfig,
  baseline: SuiteResult,
  service: ColumnResult,
): Promise<void> {
  const host = hostLoad();
  log(`\n${downloadsTable(baseline, service, plan.levels, config.wrkConnections)}`);
  log(
    `\nMB = 10^6 bytes, GB = 10^9 bytes; RSS summed over the server's processes, sampled every 100 ms.\nAt the end: ${host}.`,
  );
  const json = {
    mode: quick ? 'quick' : 'full',
    date: new Date().toISOString(),
    host,
    isoBytes,
    plan,
    nodeOptions: nodeOptions ?? null,
    baseline,
    service,
  };
  await writeFile(path.join(WORK, 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
  log(`results written to ${path.join(WORK, 'results.json')}`);
}

runBench('bench', plan.deadlineMs, main);
