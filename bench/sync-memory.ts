// `npm run bench:sync`: how long the start-up cache sync of one large base ISO takes and how much memory the
// service holds meanwhile, for an http:// source (nginx on 127.0.0.1 as the mirror, or a Node static server when
// nginx is absent; either way in its own process) and a file:// source. See bench/README.md.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBaseline } from './lib/baseline.js';
import { hostLoad } from './lib/host.js';
import { GiB, MiB, buildBenchIso, type BenchIso } from './lib/fixture.js';
import { isStopping, onCleanup, runBench } from './lib/lifetime.js';
import { startBenchService } from './lib/service.js';
import { watchSync, type SyncMeasurement } from './lib/sync-watch.js';
import { MB, formatNumber, renderTable } from './lib/table.js';

const WORK = path.join(import.meta.dirname, '.work');
const quick = process.argv.includes('--quick');
const rootfsBytes = quick ? 256 * MiB : GiB;
const CASE_TIMEOUT_MS = 5 * 60_000;
/** `--node-options="…"`: NODE_OPTIONS for the service, e.g. to measure a setting before putting it in the Dockerfile. */
const nodeOptions = process.argv.find((arg) => arg.startsWith('--node-options='))?.slice('--node-options='.length);

function log(line: string): void {
  if (!isStopping()) process.stdout.write(`${line}\n`);
}

async function measureCase(name: string, isoUrl: string, iso: BenchIso, work: string): Promise<SyncMeasurement> {
  const dir = path.join(work, name);
  const spawnedAt = performance.now();
  const service = await startBenchService({
    workDir: dir,
    isoUrl,
    ...(nodeOptions !== undefined && { env: { NODE_OPTIONS: nodeOptions } }),
  });
  try {
    const measurement = await watchSync(service, spawnedAt, CASE_TIMEOUT_MS);
    log(
      `  ${name}: ${iso.size} bytes in ${measurement.downloadS.toFixed(2)} s, peak RSS ${(measurement.peakSampledRssBytes / MB).toFixed(1)} MB`,
    );
    return measurement;
  } finally {
    await service.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function report(cases: Record<string, SyncMeasurement>, isoBytes: number): string {
  const names = Object.keys(cases);
  const pick = (read: (m: SyncMeasurement) => number): string[] =>
    names.map((name) => formatNumber(read(cases[name] as SyncMeasurement)));
  const rows: string[][] = [
    ['service listening after s', ...pick((m) => m.listeningAfterS)],
    ['download s (log: downloading -> downloaded)', ...pick((m) => m.downloadS)],
    ['download MB/s', ...pick((m) => isoBytes / MB / m.downloadS)],
    ['minimal ISO template build s (log)', ...pick((m) => m.templateS)],
    ['until /health 200 s (from listening)', ...pick((m) => m.untilReadyS)],
    ['RSS at start MB (listening)', ...pick((m) => m.rssAtListenBytes / MB)],
    ['RSS at end MB (/health 200)', ...pick((m) => m.rssAtReadyBytes / MB)],
    ['peak RSS MB (VmRSS every 100 ms)', ...pick((m) => m.peakSampledRssBytes / MB)],
    ['peak RSS MB (VmHWM, whole life)', ...pick((m) => m.hwmBytes / MB)],
    ['RSS samples', ...pick((m) => m.samples)],
  ];
  rows.push(['service log says', ...names.map((name) => cases[name]?.serviceReport ?? '')]);
  return renderTable(['metric', ...names], rows);
}

async function main(): Promise<void> {
  const work = path.join(WORK, 'sync');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const iso = await buildBenchIso(work, rootfsBytes);
  log(
    `fixture ${iso.path}: ${iso.size} bytes (${quick ? 'quick' : 'full'} mode); ${hostLoad()}` +
      (nodeOptions === undefined ? '' : `; service NODE_OPTIONS=${nodeOptions}`),
  );
  const mirror = await startBaseline(iso.path, work, process.argv.includes('--node-mirror'));
  onCleanup(() => mirror.stop());

  const cases: Record<string, SyncMeasurement> = {};
  cases[`http:// (${mirror.label.split(' ')[0] ?? 'mirror'})`] = await measureCase('http', mirror.url.href, iso, work);
  await mirror.stop();
  cases['file://'] = await measureCase('file', `file://${iso.path}`, iso, work);

  log(`\n${report(cases, iso.size)}`);
  log(
    `\nMB = 10^6 bytes. Download = fetch (+ sha256 when the catalog gives one) + write to DATA_DIR; /health 200 comes after the ISO checks.\nAt the end: ${hostLoad()}.`,
  );
  await writeFile(
    path.join(WORK, 'sync-results.json'),
    `${JSON.stringify({ date: new Date().toISOString(), host: hostLoad(), isoBytes: iso.size, nodeOptions: nodeOptions ?? null, cases }, null, 2)}\n`,
  );
  log(`results written to ${path.join(WORK, 'sync-results.json')}`);
}

runBench('bench:sync', 2 * CASE_TIMEOUT_MS + 60_000, main);
