import { isoFileName } from './cache-file-names.js';
import { compareOpenshiftVersions } from './openshift-version.js';
import { normalizeArchitecture, type BaseImageType, type CpuArchitecture, type OsImageEntry } from './os-image.js';

/** One file of the cache: the entry that won de-duplication plus every OpenShift version it serves. */
export interface CatalogImage {
  /** Stable key and cache file stem, e.g. `rhcos-full-iso-414.92.202310170514-0-x86_64`. */
  readonly key: string;
  readonly fileName: string;
  readonly entry: OsImageEntry;
  readonly openshiftVersions: readonly string[];
}

/** Cache file names of reference §3; `minimal-iso` names the templates built from full ISOs. */
export function cacheFileName(type: BaseImageType | 'minimal-iso', version: string, arch: CpuArchitecture): string {
  return isoFileName(type, version, arch);
}

/**
 * The OS image catalog: entries with the same (RHCOS version, arch, type) share one file, and the entry with the
 * highest openshift_version wins. Requests are resolved by RHCOS version first, then by openshift_version.
 */
export class OsImageCatalog {
  readonly images: readonly CatalogImage[];

  constructor(entries: readonly OsImageEntry[]) {
    this.images = deduplicate(entries);
  }

  /** `arch` may be an alias (`amd64`, `aarch64`); undefined when nothing matches. */
  find(version: string, arch: string, type: BaseImageType): CatalogImage | undefined {
    const cpuArchitecture = normalizeArchitecture(arch);
    if (cpuArchitecture === undefined) return undefined;
    const candidates = this.images.filter(
      (image) => image.entry.cpuArchitecture === cpuArchitecture && image.entry.type === type,
    );
    return (
      candidates.find((image) => image.entry.version === version) ??
      newest(candidates.filter((image) => image.openshiftVersions.includes(version)))
    );
  }

  byKey(key: string): CatalogImage | undefined {
    return this.images.find((image) => image.key === key);
  }
}

function deduplicate(entries: readonly OsImageEntry[]): CatalogImage[] {
  const groups = new Map<string, OsImageEntry[]>();
  for (const entry of entries) {
    const key = cacheFileName(entry.type, entry.version, entry.cpuArchitecture).replace(/\.iso$/, '');
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  return [...groups].map(([key, group]) => {
    const winner = group.reduce((best, entry) =>
      compareOpenshiftVersions(entry.openshiftVersion, best.openshiftVersion) > 0 ? entry : best,
    );
    const openshiftVersions = [...new Set(group.map((entry) => entry.openshiftVersion))];
    return { key, fileName: `${key}.iso`, entry: winner, openshiftVersions };
  });
}

/** When one OpenShift version is served by several RHCOS builds, the newest build answers. */
function newest(images: CatalogImage[]): CatalogImage | undefined {
  return images.reduce<CatalogImage | undefined>(
    (best, image) =>
      best === undefined || compareOpenshiftVersions(image.entry.version, best.entry.version) > 0 ? image : best,
    undefined,
  );
}
