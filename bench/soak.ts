// `npm run bench:soak`: a bounded load run (60 s by default) of 100 concurrent clients with a mix of full and
// minimal ISO downloads, deliberate aborts, slow readers, 64 KiB Range requests and PXE initrds, while the
// service's RSS, open descriptors and event-loop lag are sampled every second. Shows that the service holds:
// no unexpected errors, no growth trend, a responsive event loop. See bench/SOAK.md.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MiB, buildBenchIso } from './lib/fixture.js';
import { hostLoad } from './lib/host.js';
import { isStopping, onCleanup, runBench, sleep } from './lib/lifetime.js';
import { readMemory } from './lib/proc.js';
import { startBenchService, waitUntilReady, type BenchService } from './lib/service.js';
import { startSoakAssisted } from './lib/soak-assisted.js';
import { LagCanary } from './lib/soak-canary.js';
import { runSoakLoad } from './lib/soak-load.js';
import { SoakMonitor, countFds, countFdsUnder, scrape } from './lib/soak-monitor.js';
import { soakPlan, type SoakPlan } from './lib/soak-plan.js';
import { HostileTally, assignHostileRoles, type OversizedTargets } from './lib/soak-hostile.js';
import {
  errorsTable,
  hostileTable,
  readingNotes,
  requestsTable,
  seriesTable,
  summaryTable,
} from './lib/soak-report.js';
import { assignRoles } from './lib/soak-roles.js';
import { IDLE_FD_SLACK, summarize, type IdleSnapshot, type SummaryInput } from './lib/soak-summary.js';
import { SoakTally } from './lib/soak-tally.js';
import { probeTargets, soakCatalog, type SoakTargets } from './lib/soak-targets.js';
import { MB, formatNumber } from './lib/table.js';
import type { CallKind } from '../test/support/fake-assisted-service.js';

const WORK = path.join(import.meta.dirname, '.work');
const plan = planOrExit();

function planOrExit(): SoakPlan {
  try {
    return soakPlan(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(
      `bench:soak: ${error instanceof Error ? error.message : String(error)}\nflags: --quick, --seconds=N, --clients=N, --hostile=N, --no-hostile, --rootfs-mib=N\n`,
    );
    process.exit(1);
  }
}

function log(line: string): void {
  if (!isStopping()) process.stdout.write(`${line}\n`);
}

async function idleSnapshot(pid: number, dataDir: string): Promise<IdleSnapshot> {
  const [memory, fds, imageFds] = await Promise.all([readMemory(pid), countFds(pid), countFdsUnder(pid, dataDir)]);
  return { rssBytes: memory?.rssBytes ?? 0, fds, imageFds };
}

/**
 * After the load, closed connections take a moment to go: wait (≤ 5 s) for the count to settle. The shared image
 * descriptors stay for their idle time by design and are reported apart.
 */
async function settledIdle(pid: number, dataDir: string, before: IdleSnapshot): Promise<IdleSnapshot> {
  for (let tries = 0; tries < 10; tries++) {
    await sleep(500);
    const now = await idleSnapshot(pid, dataDir);
    if (now.fds - now.imageFds <= before.fds - before.imageFds + IDLE_FD_SLACK) break;
  }
  return idleSnapshot(pid, dataDir);
}

/** After the load the in-flight gauge must come back to 0 once the connections are gone: wait (≤ 10 s) for it. */
async function settledInflight(baseUrl: string): Promise<number | undefined> {
  let last: number | undefined;
  for (let tries = 0; tries < 20; tries++) {
    last = (await scrape(new URL(`${baseUrl}/metrics`)))?.inflight;
    if (last === 0) return 0;
    await sleep(500);
  }
  return last;
}

/** The first scrape resets the histogram; the second covers one idle second. */
async function idleLag(baseUrl: string): Promise<number | undefined> {
  const metrics = new URL(`${baseUrl}/metrics`);
  await scrape(metrics);
  await sleep(1000);
  return (await scrape(metrics))?.lagP99Ms;
}

async function startService(work: string, isoPath: string, assistedUrl: string): Promise<BenchService> {
  const service = await startBenchService({
    workDir: path.join(work, 'service'),
    isoUrl: `file://${isoPath}`,
    assistedUrl,
    env: { OS_IMAGES: soakCatalog(`file://${isoPath}`) },
  });
  onCleanup(() => service.stop());
  await waitUntilReady(service, 200, plan.syncTimeoutMs);
  log(`service ready on ${service.baseUrl} (pid ${service.pid})`);
  return service;
}

interface Setup {
  readonly service: BenchService;
  readonly targets: SoakTargets;
  readonly oversized: OversizedTargets;
  readonly assistedCalls: () => Record<CallKind, number>;
}

async function setUp(work: string): Promise<Setup> {
  const iso = await buildBenchIso(work, plan.rootfsBytes);
  const assisted = await startSoakAssisted();
  const service = await startService(work, iso.path, assisted.url);
  const targets = await probeTargets(service.baseUrl, assisted.infraEnvId);
  log(`full ISO ${targets.fullSize} bytes, minimal ISO ${targets.minimalSize} bytes`);
  return { service, targets, oversized: assisted.oversized, assistedCalls: assisted.callCounts };
}

/** One line every 10 s, so a long run shows it is alive and how it is going. */
function progressLine(tally: SoakTally, monitor: SoakMonitor, startedAt: number): string {
  const sample = monitor.samples.at(-1);
  const lag = monitor.samples.findLast((each) => each.scraped !== undefined)?.scraped?.lagP99Ms;
  const totals = tally.totals();
  const resources =
    sample === undefined
      ? ''
      : `; RSS ${formatNumber(sample.rssBytes / MB)} MB, ${sample.fds} fds, lag p99 ${formatNumber(lag)} ms`;
  return `  ${((performance.now() - startedAt) / 1000).toFixed(0)} s: ${totals.done} requests done, ${tally.unexpectedCount()} unexpected${resources}`;
}

async function measure({
  service,
  targets,
  oversized,
}: Setup): Promise<SummaryInput & { readonly roles: Record<string, number> }> {
  const roles = assignRoles(plan.clients);
  const hostileRoles = assignHostileRoles(plan.hostileClients);
  log(
    `clients: ${Object.entries(countBy(roles))
      .map(([role, count]) => `${count} ${role}`)
      .join(', ')}`,
  );
  if (hostileRoles.length > 0)
    log(
      `hostile clients: ${Object.entries(countBy(hostileRoles))
        .map(([role, count]) => `${count} ${role}`)
        .join(', ')}`,
    );
  const hostile = new HostileTally();
  await sleep(1000);
  const idleBefore = await idleSnapshot(service.pid, service.dataDir);
  const idleLagP99Ms = await idleLag(service.baseUrl);
  const counter = { bytes: 0 };
  const tally = new SoakTally();
  const canary = new LagCanary();
  const monitor = new SoakMonitor(
    service.pid,
    new URL(`${service.baseUrl}/metrics`),
    counter,
    plan.sampleEveryMs,
    canary,
  ).start();
  // Ends the load early: the service exited, or the bench is stopping (our clients must not hold up its shutdown).
  const endLoad = new AbortController();
  let serviceExit: string | undefined;
  void service.process.exited.then((code) => {
    serviceExit ??= `service exited (${code})`;
    endLoad.abort();
  });
  onCleanup(() => endLoad.abort());
  const startedAt = performance.now();
  const progress = setInterval(() => log(progressLine(tally, monitor, startedAt)), 10_000);
  const apiKeys = Array.from({ length: plan.apiKeys }, (_, index) => `soak-key-${index}`);
  const load = await runSoakLoad({
    roles,
    targets,
    apiKeys,
    durationMs: plan.seconds * 1000,
    counter,
    tally,
    abort: endLoad.signal,
    hostile: { roles: hostileRoles, context: { targets, oversized, tally: hostile } },
  }).finally(() => clearInterval(progress));
  const samples = await monitor.stop();
  canary.stop();
  if (serviceExit !== undefined) tally.addError('service', 'service exited during the load', serviceExit);
  const inflightAfter = serviceExit !== undefined ? undefined : await settledInflight(service.baseUrl);
  const idleAfter = serviceExit !== undefined ? undefined : await settledIdle(service.pid, service.dataDir, idleBefore);
  return {
    load,
    samples,
    idleBefore,
    idleAfter,
    idleLagP99Ms,
    seriesEverySeconds: plan.seriesEverySeconds,
    roles: { ...countBy(roles), ...countBy(hostileRoles.map((role) => `hostile-${role}`)) },
    hostile,
    hostileClients: hostileRoles.length,
    inflightAfter,
  };
}

async function main(): Promise<void> {
  const work = path.join(WORK, 'soak');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  onCleanup(() => rm(path.join(work, 'service'), { recursive: true, force: true }));
  const hostAtStart = hostLoad();
  log(
    `mode: ${plan.quick ? 'quick' : 'full'}; ${plan.seconds} s, ${plan.clients} clients, fixture rootfs ${plan.rootfsBytes / MiB} MiB, ${plan.apiKeys} api_keys`,
  );
  log(`at start: ${hostAtStart}`);
  const setup = await setUp(work);
  const input = await measure(setup);
  const summary = summarize(input);
  const hostAtEnd = hostLoad();
  const calls = setup.assistedCalls();
  log(
    `\n${requestsTable(summary, input.load.wallSeconds)}\n\n${errorsTable(summary)}\n\n${hostileTable(summary)}\n\n${seriesTable(summary)}\n\n${summaryTable(summary)}`,
  );
  for (const note of readingNotes(summary, input.load.wallSeconds)) log(`note: ${note}`);
  log(
    `\nstand-in assisted-service calls (customisation-cache misses): ${calls.ignition} ignition, ${calls['minimal-initrd']} minimal-initrd, ${calls['infra-env']} infra-env`,
  );
  log(
    `MB = 10^6 bytes. Samples every ${plan.sampleEveryMs} ms; trends over the second half of the run.\nat end: ${hostAtEnd}`,
  );
  const json = {
    date: new Date().toISOString(),
    hostAtStart,
    hostAtEnd,
    plan,
    targets: setup.targets,
    roles: input.roles,
    assistedCalls: calls,
    wallSeconds: input.load.wallSeconds,
    summary,
    samples: input.samples,
  };
  await writeFile(path.join(WORK, 'soak.json'), `${JSON.stringify(json, null, 2)}\n`);
  log(`results written to ${path.join(WORK, 'soak.json')}`);
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

runBench('bench:soak', plan.deadlineMs, main);
