/**
 * Orders OpenShift versions such as `4.9`, `4.14.3` and `4.18.0-ec.0`: numeric release parts are compared
 * as numbers (missing parts count as 0, so `4.18` equals `4.18.0`), and a pre-release sorts before its release.
 */
export function compareOpenshiftVersions(a: string, b: string): number {
  const left = splitVersion(a);
  const right = splitVersion(b);
  const releaseOrder = compareParts(left.release, right.release);
  if (releaseOrder !== 0) return releaseOrder;
  const leftIsRelease = left.prerelease.length === 0;
  const rightIsRelease = right.prerelease.length === 0;
  if (leftIsRelease || rightIsRelease) return Number(leftIsRelease) - Number(rightIsRelease);
  return compareParts(left.prerelease, right.prerelease);
}

interface SplitVersion {
  release: (number | string)[];
  prerelease: (number | string)[];
}

function splitVersion(version: string): SplitVersion {
  const dash = version.indexOf('-');
  const release = dash < 0 ? version : version.slice(0, dash);
  const prerelease = dash < 0 ? '' : version.slice(dash + 1);
  return { release: toParts(release), prerelease: prerelease === '' ? [] : toParts(prerelease) };
}

function toParts(text: string): (number | string)[] {
  return text.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function compareParts(left: (number | string)[], right: (number | string)[]): number {
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const order = comparePart(left[i] ?? 0, right[i] ?? 0);
    if (order !== 0) return order;
  }
  return 0;
}

function comparePart(left: number | string, right: number | string): number {
  if (typeof left === 'number' && typeof right === 'number') return Math.sign(left - right);
  // Numeric identifiers sort before alphanumeric ones, as in semver pre-releases.
  if (typeof left === 'number') return -1;
  if (typeof right === 'number') return 1;
  return left < right ? -1 : left > right ? 1 : 0;
}
