// What the soak asks for: a 4.18 catalog entry (so the minimal template and nmstate.img exist), the request URLs,
// and the image sizes, learnt once up front so every answer can be checked against them.
import { ARCH, RHCOS_VERSION } from './fixture.js';
import { probe } from './http-load.js';

/** From 4.18.0-ec.0 the sync extracts nmstatectl, and the PXE initrd and minimal ISO carry nmstate.img. */
const SOAK_OPENSHIFT_VERSION = '4.18';

class SoakTargetError extends Error {
  override name = 'SoakTargetError';
}

export interface SoakTargets {
  readonly baseUrl: string;
  readonly infraEnvId: string;
  readonly fullSize: number;
  readonly minimalSize: number;
}

export type ImageType = 'full-iso' | 'minimal-iso';

export function soakCatalog(isoUrl: string): string {
  return JSON.stringify([
    { openshift_version: SOAK_OPENSHIFT_VERSION, cpu_architecture: ARCH, url: isoUrl, version: RHCOS_VERSION },
  ]);
}

export function imageUrl(targets: Pick<SoakTargets, 'baseUrl' | 'infraEnvId'>, type: ImageType, apiKey: string): URL {
  const query = new URLSearchParams({ version: RHCOS_VERSION, type, arch: ARCH, api_key: apiKey });
  return new URL(`${targets.baseUrl}/images/${targets.infraEnvId}?${query.toString()}`);
}

export function pxeUrl(targets: Pick<SoakTargets, 'baseUrl' | 'infraEnvId'>, apiKey: string): URL {
  const query = new URLSearchParams({ version: RHCOS_VERSION, arch: ARCH, api_key: apiKey });
  return new URL(`${targets.baseUrl}/images/${targets.infraEnvId}/pxe-initrd?${query.toString()}`);
}

/** The total size from a one-byte Range answer; throws when the route does not serve the image. */
async function imageSize(url: URL, what: string): Promise<number> {
  const answer = await probe(url, { range: 'bytes=0-0' }, 30_000);
  const total = /\/(\d+)$/.exec(String(answer.headers['content-range'] ?? ''))?.[1];
  if (answer.status !== 206 || total === undefined) {
    throw new SoakTargetError(
      `${what}: expected 206 with Content-Range to bytes=0-0, got HTTP ${answer.status} (${url.pathname})`,
    );
  }
  return Number(total);
}

export async function probeTargets(baseUrl: string, infraEnvId: string): Promise<SoakTargets> {
  const where = { baseUrl, infraEnvId };
  const fullSize = await imageSize(imageUrl(where, 'full-iso', 'soak-probe'), 'full ISO');
  const minimalSize = await imageSize(imageUrl(where, 'minimal-iso', 'soak-probe'), 'minimal ISO');
  await imageSize(pxeUrl(where, 'soak-probe'), 'PXE initrd');
  return { baseUrl, infraEnvId, fullSize, minimalSize };
}
