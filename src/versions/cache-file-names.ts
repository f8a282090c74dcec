import { randomUUID } from 'node:crypto';
import { CPU_ARCHITECTURES, type BaseImageType, type CpuArchitecture } from './os-image.js';

/**
 * Every name the cache writes in DATA_DIR, made and recognised here so that the start-up cleanup can never miss a
 * name the cache produces, nor take a name it does not produce for one of its own:
 * - `rhcos-<type>-<version>-<arch>.iso`: a base ISO, or a minimal ISO template (`type` `minimal-iso`);
 * - `<iso>.part` and `<iso>.part.json`: a download in progress and its resume record;
 * - `<iso>.verified.json`: what a cached ISO was verified against;
 * - `nmstate-<version>-<arch>.img`: the packed nmstatectl of an image;
 * - temporary names, renamed into place once complete: `.<template>.<uuid>.tmp` (hidden, so no reader takes it
 *   for a template), `<record>.<uuid>.tmp` and `<nmstate image>.<uuid>.part`.
 */
export type CacheFileKind = 'iso' | 'partial' | 'partial-record' | 'verified-record' | 'nmstate' | 'temporary';

export type CacheImageType = BaseImageType | 'minimal-iso';

const ARCH = `(?:${CPU_ARCHITECTURES.join('|')})`;
const ISO = `rhcos-(?:full-iso|disconnected-iso|minimal-iso)-[^/]+-${ARCH}\\.iso`;
const NMSTATE = `nmstate-[^/]+-${ARCH}\\.img`;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

const KINDS: readonly (readonly [CacheFileKind, RegExp])[] = [
  ['iso', new RegExp(`^${ISO}$`)],
  ['partial', new RegExp(`^${ISO}\\.part$`)],
  ['partial-record', new RegExp(`^${ISO}\\.part\\.json$`)],
  ['verified-record', new RegExp(`^${ISO}\\.verified\\.json$`)],
  ['nmstate', new RegExp(`^${NMSTATE}$`)],
  ['temporary', new RegExp(`^\\.${ISO}\\.${UUID}\\.tmp$`)],
  ['temporary', new RegExp(`^${ISO}\\.(?:part|verified)\\.json\\.${UUID}\\.tmp$`)],
  ['temporary', new RegExp(`^${NMSTATE}\\.${UUID}\\.part$`)],
];

export function isoFileName(type: CacheImageType, version: string, arch: CpuArchitecture): string {
  return `rhcos-${type}-${version}-${arch}.iso`;
}

export function nmstateImageName(version: string, arch: CpuArchitecture): string {
  return `nmstate-${version}-${arch}.img`;
}

export const partialName = (isoName: string): string => `${isoName}.part`;
export const partialRecordName = (isoName: string): string => `${isoName}.part.json`;
export const verifiedRecordName = (isoName: string): string => `${isoName}.verified.json`;

/** The names one cached ISO may have next to it, all of them worth keeping while the catalog names the ISO. */
export function isoCacheNames(isoName: string): string[] {
  return [isoName, partialName(isoName), partialRecordName(isoName), verifiedRecordName(isoName)];
}

/** Where xorriso writes a template before it is renamed over `templateName`. */
export function templateTemporaryName(templateName: string): string {
  return `.${templateName}.${randomUUID()}.tmp`;
}

/** Where a record is written before it is renamed over `recordName`. */
export function recordTemporaryName(recordName: string): string {
  return `${recordName}.${randomUUID()}.tmp`;
}

/** Where a packed nmstate image is written before it is renamed over `nmstateName`. */
export function nmstateTemporaryName(nmstateName: string): string {
  return `${nmstateName}.${randomUUID()}.part`;
}

/** What a name in DATA_DIR is to the cache; undefined for a name the cache never produces. */
export function cacheFileKind(name: string): CacheFileKind | undefined {
  return KINDS.find(([, pattern]) => pattern.test(name))?.[0];
}
