import type { OsImageEntry } from '../versions/os-image.js';

const MIRROR = 'https://mirror.openshift.com/pub/openshift-v4';

/**
 * Used when neither `OS_IMAGES` nor `RHCOS_VERSIONS` is set: the same images the original service shipped as
 * its default, so a bare start behaves as operators of that service expect.
 */
export const DEFAULT_CATALOG: readonly OsImageEntry[] = [
  entry(
    '4.8',
    'x86_64',
    `${MIRROR}/x86_64/dependencies/rhcos/4.8/4.8.14/rhcos-4.8.14-x86_64-live.x86_64.iso`,
    '48.84.202109241901-0',
  ),
  entry(
    '4.9',
    'x86_64',
    `${MIRROR}/x86_64/dependencies/rhcos/4.9/4.9.0/rhcos-4.9.0-x86_64-live.x86_64.iso`,
    '49.84.202110081407-0',
  ),
  entry(
    '4.9',
    'arm64',
    `${MIRROR}/aarch64/dependencies/rhcos/4.9/4.9.0/rhcos-4.9.0-aarch64-live.aarch64.iso`,
    '49.84.202110080947-0',
  ),
  entry(
    '4.10',
    'x86_64',
    `${MIRROR}/x86_64/dependencies/rhcos/4.10/4.10.3/rhcos-4.10.3-x86_64-live.x86_64.iso`,
    '410.84.202201251210-0',
  ),
  entry(
    '4.10',
    'arm64',
    `${MIRROR}/aarch64/dependencies/rhcos/4.10/4.10.3/rhcos-4.10.3-aarch64-live.aarch64.iso`,
    '410.84.202201251210-0',
  ),
  entry(
    '4.15',
    's390x',
    `${MIRROR}/s390x/dependencies/rhcos/4.15/4.15.0/rhcos-live.s390x.iso`,
    '415.92.202403212258-0',
  ),
];

function entry(
  openshiftVersion: string,
  cpuArchitecture: OsImageEntry['cpuArchitecture'],
  url: string,
  version: string,
): OsImageEntry {
  return { openshiftVersion, cpuArchitecture, url, version, type: 'full-iso' };
}
