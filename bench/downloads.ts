// `npm run bench`: the service against a static baseline (nginx with sendfile) serving the same base ISO on
// 127.0.0.1, over plain HTTP and then over HTTPS (one throwaway certificate for both). Prints a side-by-side
// table and writes bench/.work/results.json. See bench/README.md.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBenchAssisted, type BenchAssisted } from './lib/assisted.js';
import { startBaseline } from './lib/baseline.js';
import { downloadsTable, type ColumnPair, type ColumnResult } from './lib/downloads-report.js';
import { ARCH, CACHE_FILE_NAME, GiB, MiB, RHCOS_VERSION, buildBenchIso } from './lib/fixture.js';
import { hostLoad } from './lib/host.js';
import { probe, type TrustedCa } from './lib/http-load.js';
import { isStopping, onCleanup, runBench } from './lib/lifetime.js';
import { startBenchService, waitUntilReady } from './lib/service.js';
import { runSuite, type SuiteConfig } from './lib/suite.js';
import { makeBenchTls, type BenchTls } from './lib/tls.js';

const WORK = path.join(import.meta.dirname, '.work');
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
/** `--no-https`: plain HTTP only, the run of before the HTTPS columns (half the time). */
const https = !args.has('--no-https');
const timeoutArg = process.argv.find((arg) => arg.startsWith('--timeout-s='));
/** `--node-options="…"`: NODE_OPTIONS for the service, e.g. to measure a setting before putting it in the Dockerfile. */
const nodeOptions = process.argv.find((arg) => arg.startsWith('--node-options='))?.slice('--node-options='.length);

const plan = {
  rootfsBytes: quick ? 256 * MiB : GiB,
  levels: quick ? [1, 8] : [1, 16, 64],
  wrkSeconds: quick ? 5 : 10,
  // The default deadline is per protocol: HTTPS measures everything a second time.
  deadlineMs:
    (timeoutArg === undefined ? (quick ? 240 : 600) * (https ? 2 : 1) : Number(timeoutArg.split('=')[1])) * 1000,
  syncTimeoutMs: 5 * 60_000,
  phaseCapMs: quick ? 20_000 : 45_000,
};

function log(line: string): void {
  if (!isStopping()) process.stdout.write(`${line}\n`);
}

/** What a TLS connection of the measuring client negotiated, to show both targets got the same; '' over http. */
async function negotiatedBy(url: URL, ca: TrustedCa): Promise<string> {
  if (url.protocol !== 'https:') return '';
  const answer = await probe(url, { range: 'bytes=0-0' }, 5000, ca).catch(() => undefined);
  return answer?.tls ?? 'unknown';
}

/** The route answers a real image (200, or 206 to the one-byte Range) or the column says why not. */
async function serviceColumn(url: URL, ready: string | true, ca: TrustedCa): Promise<ColumnResult | URL> {
  if (ready !== true) return { unavailable: `service not ready: ${ready.slice(0, 60)}` };
  const answer = await probe(url, { range: 'bytes=0-0' }, 30_000, ca).catch((error: unknown) => ({
    status: 0,
    error,
  }));
  if (answer.status === 200 || answer.status === 206) return url;
  return { unavailable: `route not available (HTTP ${answer.status})` };
}

interface ServiceUnderTest {
  readonly pid: number;
  /** The image URL to measure, or why the service column has no figures. */
  readonly column: ColumnResult | URL;
  /** Set over HTTPS: the CA the client verifies the service against. */
  readonly ca: TrustedCa;
  /** The service's cached copy of the ISO once synced (the baseline serves it too), else the fixture. */
  readonly servedFile: string;
  stop(): Promise<void>;
}

/** Over HTTPS with `tls`. Every start uses the same DATA_DIR: a restart reuses the cache the first one synced. */
async function startServiceUnderTest(
  work: string,
  isoPath: string,
  assisted: BenchAssisted,
  tls: BenchTls | undefined,
): Promise<ServiceUnderTest> {
  const service = await startBenchService({
    workDir: path.join(work, 'service'),
    isoUrl: `file://${isoPath}`,
    assistedUrl: assisted.url,
    ...(nodeOptions !== undefined && { env: { NODE_OPTIONS: nodeOptions } }),
    ...(tls !== undefined && { tls }),
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
    column: await serviceColumn(url, ready, service.ca),
    ca: service.ca,
    // The very same file for both, dense on disk like a real cache (the fixture is sparse).
    servedFile: ready === true ? path.join(service.dataDir, CACHE_FILE_NAME) : isoPath,
    stop: () => service.stop(),
  };
}

interface MeasuredPair extends ColumnPair {
  /** Per target, what the client's TLS connections negotiated ('' over plain HTTP). */
  readonly negotiated: { readonly baseline: string; readonly service: string };
}

/** The baseline, then the service (running, idle, meanwhile), over one protocol; stops both. */
async function measurePair(
  service: ServiceUnderTest,
  config: SuiteConfig,
  tls: BenchTls | undefined,
  assisted: BenchAssisted,
): Promise<MeasuredPair> {
  const serviceLabel = tls === undefined ? 'service' : 'service (HTTPS)';
  const baseline = await startBaseline(service.servedFile, config.workDir, args.has('--node-baseline'), tls);
  onCleanup(() => baseline.stop());
  const baselineTls = await negotiatedBy(baseline.url, baseline.ca);
  log(
    `baseline: ${baseline.label} on ${baseline.url.href} serving ${service.servedFile}` +
      (baselineTls === '' ? '' : `; client negotiates ${baselineTls}`),
  );
  const baselineResult = await runSuite(baseline, config, log);
  await baseline.stop();

  let serviceResult = service.column;
  let serviceTls = '';
  if (serviceResult instanceof URL) {
    serviceTls = await negotiatedBy(serviceResult, service.ca);
    log(`${serviceLabel}: ${serviceResult.href}` + (serviceTls === '' ? '' : `; client negotiates ${serviceTls}`));
    const callsBefore = assisted.callCount();
    serviceResult = await runSuite(
      { label: serviceLabel, url: serviceResult, pids: async () => [service.pid], ca: service.ca },
      config,
      log,
    );
    log(`  stand-in assisted-service answered ${assisted.callCount() - callsBefore} calls`);
  }
  await service.stop();
  return {
    baseline: baselineResult,
    service: serviceResult,
    serviceLabel,
    negotiated: { baseline: baselineTls, service: serviceTls },
  };
}

/** The HTTPS pair: a fresh certificate, served by the baseline and by the service restarted with it. */
async function measureHttps(
  work: string,
  isoPath: string,
  assisted: BenchAssisted,
  plain: ServiceUnderTest,
  config: SuiteConfig,
): Promise<MeasuredPair> {
  const tls = await makeBenchTls(path.join(work, 'tls'));
  // A service that could not serve over HTTP is not started again: the HTTPS column repeats why.
  const secure = plain.column instanceof URL ? await startServiceUnderTest(work, isoPath, assisted, tls) : plain;
  return measurePair(secure, config, tls, assisted);
}

async function main(): Promise<void> {
  const work = path.join(WORK, 'downloads');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  onCleanup(() => rm(path.join(work, 'service'), { recursive: true, force: true }));
  log(
    `mode: ${quick ? 'quick' : 'full'}; ${https ? 'HTTP then HTTPS' : 'HTTP only'}; fixture rootfs ${plan.rootfsBytes / MiB} MiB; concurrency ${plan.levels.join(', ')}; deadline ${plan.deadlineMs / 1000} s` +
      (nodeOptions === undefined ? '' : `; service NODE_OPTIONS=${nodeOptions}`),
  );
  const iso = await buildBenchIso(work, plan.rootfsBytes);
  log(`fixture ${iso.path}: ${iso.size} bytes; ${hostLoad()}`);
  const assisted = await startBenchAssisted();
  const service = await startServiceUnderTest(work, iso.path, assisted, undefined);

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
  const plainPair = await measurePair(service, config, undefined, assisted);
  const httpsPair = https ? await measureHttps(work, iso.path, assisted, service, config) : undefined;
  await report(iso.size, config, plainPair, httpsPair);
}

async function report(
  isoBytes: number,
  config: SuiteConfig,
  plain: MeasuredPair,
  secure: MeasuredPair | undefined,
): Promise<void> {
  const host = hostLoad();
  const pairs = secure === undefined ? [plain] : [plain, secure];
  log(`\n${downloadsTable(pairs, plan.levels, config.wrkConnections)}`);
  log(
    `\nMB = 10^6 bytes, GB = 10^9 bytes; RSS summed over the server's processes, sampled every 100 ms.` +
      (secure === undefined
        ? ''
        : `\nHTTPS: one throwaway CA-signed ECDSA P-256 certificate for both targets; the client negotiated: baseline ${secure.negotiated.baseline}, service ${secure.negotiated.service || '-'}.`) +
      `\nAt the end: ${host}.`,
  );
  const json = {
    mode: quick ? 'quick' : 'full',
    date: new Date().toISOString(),
    host,
    isoBytes,
    plan,
    nodeOptions: nodeOptions ?? null,
    // Plain HTTP, under the keys they had before the HTTPS pair existed.
    baseline: plain.baseline,
    service: plain.service,
    https:
      secure === undefined
        ? null
        : { baseline: secure.baseline, service: secure.service, negotiated: secure.negotiated },
  };
  await writeFile(path.join(WORK, 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
  log(`results written to ${path.join(WORK, 'results.json')}`);
}

runBench('bench', plan.deadlineMs, main);
