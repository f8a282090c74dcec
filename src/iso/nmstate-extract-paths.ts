/**
 * Where nmstatectl sits in a CoreOS root filesystem: /usr/bin on a plain tree, or inside an
 * ostree deployment (/ostree/deploy/<os>/deploy/<checksum>.<n>/usr/bin) in the live image's sysroot.
 */

/** Absolute paths in the image whose last two segments are bin|sbin/nmstatectl. */
const NMSTATECTL_PATH = /^\/(?:[^/\n]+\/)*s?bin\/nmstatectl$/;

export const PLAIN_NMSTATECTL_PATH = '/usr/bin/nmstatectl';
export const OSTREE_DEPLOY_ROOT = '/ostree/deploy';

/**
 * Of the listed paths, the nmstatectl binary to take: the shallowest, then the first by name, so
 * /usr/bin wins over a deployment and the choice does not depend on listing order.
 */
export function pickNmstatectlPath(paths: Iterable<string>): string | undefined {
  const candidates = [...paths]
    .map((entry) => `/${entry.trim().replace(/^\/+/, '')}`)
    .filter((entry) => NMSTATECTL_PATH.test(entry));
  const depth = (entry: string): number => entry.split('/').length;
  candidates.sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
  return candidates[0];
}

/** `/ostree/deploy/<os>/deploy/<deployment>/usr/bin/nmstatectl`. */
export function deploymentNmstatectlPath(os: string, deployment: string): string {
  return `${OSTREE_DEPLOY_ROOT}/${os}/deploy/${deployment}${PLAIN_NMSTATECTL_PATH}`;
}
