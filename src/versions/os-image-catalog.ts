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

/** Entries with the same (RHCOS version, arch, type) share one file; the highest openshift_version's entry wins. */
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

  /** By RHCOS version first, then by openshift_version; `arch` may be an alias (`amd64`, `aarch64`). */
  find(version: string, arch: string, type: BaseImageType): CatalogImage | undefined {
    const cpu = normalizeArchitecture(arch);
    const candidates = this.images.filter(({ entry }) => entry.cpuArchitecture === cpu && entry.type === type);
    const exact = candidates.find(({ entry }) => entry.version === version);
    // When one OpenShift version is served by several RHCOS builds, the newest build answers.
    const serving = candidates.filter((image) => image.openshiftVersions.includes(version));
    return exact ?? serving.sort((a, b) => compareOpenshiftVersions(b.entry.version, a.entry.version))[0];
  }
}

/** Orders `4.9` < `4.14` = `4.14.0` < `4.18.0-ec.0` < `4.18.0` (and RHCOS versions), numeric parts as numbers. */
export function compareOpenshiftVersions(a: string, b: string): number {
  const [left = '', leftPrerelease = ''] = a.split(/-(.*)/s);
  const [right = '', rightPrerelease = ''] = b.split(/-(.*)/s);
  const releaseOrder = compareParts(left, right);
  if (releaseOrder !== 0 || leftPrerelease === rightPrerelease) return releaseOrder;
  if (leftPrerelease === '' || rightPrerelease === '') return leftPrerelease === '' ? 1 : -1;
  return compareParts(leftPrerelease, rightPrerelease);
}

function compareParts(leftText: string, rightText: string): number {
  const [left, right] = [toParts(leftText), toParts(rightText)];
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

function toParts(text: string): (number | string)[] {
  return text.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}
