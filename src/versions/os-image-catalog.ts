import type { BaseImageType, OsImageEntry } from '../config/catalog.js';
import { normalizeArchitecture } from '../iso/index.js';
import { cacheFileName } from './cache-files.js';

/** One file of the cache: the entry that won de-duplication plus every OpenShift version it serves. */
export interface CatalogImage {
  /** Stable key and cache file stem, e.g. `rhcos-full-iso-414.92.202310170514-0-x86_64`. */
  readonly key: string;
  readonly fileName: string;
  readonly entry: OsImageEntry;
  readonly openshiftVersions: readonly string[];
}

/**
 * The OS image catalog: entries with the same (RHCOS version, arch, type) share one file, and the entry with the
 * highest openshift_version wins. Requests are resolved by RHCOS version first, then by openshift_version.
 */
export class OsImageCatalog {
  readonly images: readonly CatalogImage[];

  constructor(entries: readonly OsImageEntry[]) {
    const groups = new Map<string, OsImageEntry[]>();
    for (const entry of entries) {
      const fileName = cacheFileName(entry.type, entry.version, entry.cpuArchitecture);
      groups.set(fileName, [...(groups.get(fileName) ?? []), entry]);
    }
    this.images = [...groups].map(([fileName, group]) => ({
      key: fileName.replace(/\.iso$/, ''),
      fileName,
      entry: group.reduce((best, entry) =>
        compareOpenshiftVersions(entry.openshiftVersion, best.openshiftVersion) > 0 ? entry : best,
      ),
      openshiftVersions: [...new Set(group.map((entry) => entry.openshiftVersion))],
    }));
  }

  /** `arch` may be an alias (`amd64`, `aarch64`); undefined when nothing matches. */
  find(version: string, arch: string, type: BaseImageType): CatalogImage | undefined {
    const cpuArchitecture = normalizeArchitecture(arch);
    const candidates = this.images.filter(
      ({ entry }) => entry.cpuArchitecture === cpuArchitecture && entry.type === type,
    );
    // When one OpenShift version is served by several RHCOS builds, the newest build answers.
    const serving = candidates.filter((image) => image.openshiftVersions.includes(version));
    return (
      candidates.find(({ entry }) => entry.version === version) ??
      serving.sort((a, b) => compareOpenshiftVersions(b.entry.version, a.entry.version))[0]
    );
  }
}

type VersionParts = (number | string)[];

/**
 * Orders OpenShift versions such as `4.9`, `4.14.3` and `4.18.0-ec.0` (and RHCOS versions): numeric parts compare
 * as numbers (missing parts count as 0, so `4.18` equals `4.18.0`), and a pre-release sorts before its release.
 */
export function compareOpenshiftVersions(a: string, b: string): number {
  const [left, right] = [splitVersion(a), splitVersion(b)];
  const releaseOrder = compareParts(left.release, right.release);
  if (releaseOrder !== 0 || (left.prerelease === undefined && right.prerelease === undefined)) return releaseOrder;
  if (left.prerelease === undefined) return 1;
  if (right.prerelease === undefined) return -1;
  return compareParts(left.prerelease, right.prerelease);
}

function splitVersion(version: string): { release: VersionParts; prerelease: VersionParts | undefined } {
  const [release = '', ...rest] = version.split('-');
  const prerelease = rest.join('-');
  return { release: toParts(release), prerelease: prerelease === '' ? undefined : toParts(prerelease) };
}

function toParts(text: string): VersionParts {
  return text.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function compareParts(left: VersionParts, right: VersionParts): number {
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const [l, r] = [left[i] ?? 0, right[i] ?? 0];
    if (l === r) continue;
    if (typeof l === 'number' && typeof r === 'number') return Math.sign(l - r);
    // Numeric identifiers sort before alphanumeric ones, as in semver pre-releases.
    if (typeof l === 'number' || typeof r === 'number') return typeof l === 'number' ? -1 : 1;
    return l < r ? -1 : 1;
  }
  return 0;
}
