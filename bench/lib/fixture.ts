// The base ISO every bench serves: a real CoreOS-like live ISO whose rootfs.img is grown sparse to the size wanted.
import path from 'node:path';
import { DEFAULT_FIXTURE_VOLUME_ID, buildFixtureIso } from '../../test/fixtures/iso-fixture.js';

/** 4.18: the sync also extracts nmstatectl (docs/live-iso.md) and builds the minimal ISO template, as production does.
 * The sparse rootfs of a 1 GiB fixture starts with a real rootfs cpio, so there is something to extract. */
const OPENSHIFT_VERSION = '4.18';
/** The RHCOS version the fixture's volume ID names, used as the catalog `version` and the request's `version`. */
export const RHCOS_VERSION = DEFAULT_FIXTURE_VOLUME_ID.replace(/^rhcos-/, '');
export const ARCH = 'x86_64';
/** The name the service gives its cached copy (README.md, The cache). */
export const CACHE_FILE_NAME = `rhcos-full-iso-${RHCOS_VERSION}-${ARCH}.iso`;

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export interface BenchIso {
  readonly path: string;
  readonly size: number;
}

export async function buildBenchIso(dir: string, rootfsBytes: number): Promise<BenchIso> {
  const iso = await buildFixtureIso({ outPath: path.join(dir, 'base.iso'), rootfsSizeBytes: rootfsBytes });
  return { path: iso.path, size: iso.size };
}

/** A one-entry OS_IMAGES catalog for the fixture at `url` (http:// or file://). */
export function catalogFor(url: string): string {
  return JSON.stringify([
    { openshift_version: OPENSHIFT_VERSION, cpu_architecture: ARCH, url, version: RHCOS_VERSION },
  ]);
}
