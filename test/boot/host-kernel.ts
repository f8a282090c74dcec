// Finds the host's Debian kernel (linux-image-amd64): the guest kernel of every boot test.
import { readdir } from 'node:fs/promises';
import path from 'node:path';

const BOOT_DIR = '/boot';

class HostKernelError extends Error {
  override readonly name = 'HostKernelError';
}

/** Compares '6.1.0-56-amd64' style versions numerically, part by part. */
function compareVersions(a: string, b: string): number {
  const partsA = a.split(/[.-]/);
  const partsB = b.split(/[.-]/);
  for (let i = 0; i < Math.max(partsA.length, partsB.length); i++) {
    const [x, y] = [partsA[i] ?? '', partsB[i] ?? ''];
    const diff = /^\d+$/.test(x) && /^\d+$/.test(y) ? Number(x) - Number(y) : x.localeCompare(y);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** The newest /boot/vmlinuz-<version>, or undefined when there is none. */
export async function findHostKernel(bootDir = BOOT_DIR): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(bootDir);
  } catch {
    return undefined;
  }
  const versions = names.filter((name) => name.startsWith('vmlinuz-')).map((name) => name.slice('vmlinuz-'.length));
  const newest = versions.sort(compareVersions).at(-1);
  return newest === undefined ? undefined : path.join(bootDir, `vmlinuz-${newest}`);
}

export async function requireHostKernel(): Promise<string> {
  const kernel = await findHostKernel();
  if (kernel === undefined) throw new HostKernelError(`no ${BOOT_DIR}/vmlinuz-* (install linux-image-amd64)`);
  return kernel;
}
