import { describe, expect, it } from '@jest/globals';
import type { OsImageEntry } from '../config/catalog.js';
import { normalizeArchitecture } from '../iso/index.js';
import { OsImageCatalog, compareOpenshiftVersions } from './os-image-catalog.js';

function entry(openshiftVersion: string, version: string, overrides: Partial<OsImageEntry> = {}): OsImageEntry {
  return {
    openshiftVersion,
    version,
    cpuArchitecture: 'x86_64',
    url: `https://mirror.example.com/${openshiftVersion}/${version}.iso`,
    type: 'full-iso',
    ...overrides,
  };
}

describe('compareOpenshiftVersions', () => {
  it.each([
    ['4.9', '4.10', -1],
    ['4.10', '4.9', 1],
    ['4.14', '4.14.0', 0],
    ['4.14.1', '4.14', 1],
    ['4.18.0-ec.0', '4.18.0', -1],
    ['4.18.0-ec.0', '4.17.9', 1],
    ['4.18.0-ec.1', '4.18.0-ec.0', 1],
    ['4.18.0-ec.2', '4.18.0-rc.0', -1],
    ['4.18', '4.18.0-ec.0', 1],
    ['414.92.202310170514-0', '49.84.202110081407-0', 1],
  ])('%s vs %s → %i', (a, b, expected) => {
    expect(compareOpenshiftVersions(a, b)).toBe(expected);
    expect(compareOpenshiftVersions(b, a)).toBe(-expected || 0);
  });
});

describe('normalizeArchitecture', () => {
  it.each([
    ['x86_64', 'x86_64'],
    ['amd64', 'x86_64'],
    ['arm64', 'arm64'],
    ['aarch64', 'arm64'],
    ['ppc64le', 'ppc64le'],
    ['s390x', 's390x'],
    ['X86_64', undefined],
    ['riscv64', undefined],
    ['__proto__', undefined],
    ['constructor', undefined],
  ])('%s → %s', (name, expected) => {
    expect(normalizeArchitecture(name)).toBe(expected);
  });
});

describe('OsImageCatalog', () => {
  it('shares one file between entries with the same RHCOS version, arch and type, keeping the highest openshift_version', () => {
    const catalog = new OsImageCatalog([
      entry('4.14', '414.92.1-0'),
      entry('4.15', '414.92.1-0'),
      entry('4.9', '414.92.1-0'),
      entry('4.15', '414.92.1-0', { cpuArchitecture: 'arm64' }),
      entry('4.15', '414.92.1-0', { type: 'disconnected-iso' }),
    ]);
    expect(catalog.images.map((image) => image.fileName)).toEqual([
      'rhcos-full-iso-414.92.1-0-x86_64.iso',
      'rhcos-full-iso-414.92.1-0-arm64.iso',
      'rhcos-disconnected-iso-414.92.1-0-x86_64.iso',
    ]);
    const shared = catalog.images[0];
    expect(shared?.entry.openshiftVersion).toBe('4.15');
    expect(shared?.entry.url).toBe('https://mirror.example.com/4.15/414.92.1-0.iso');
    expect(shared?.openshiftVersions).toEqual(['4.14', '4.15', '4.9']);
  });

  it('finds by RHCOS version first, then by openshift_version', () => {
    // "4.16" is both an RHCOS version of one entry and the openshift_version of another: RHCOS version wins.
    const catalog = new OsImageCatalog([
      entry('4.15', '4.16'),
      entry('4.16', '416.94.1-0'),
      entry('4.14', '414.92.1-0'),
    ]);
    expect(catalog.find('4.16', 'x86_64', 'full-iso')?.entry.version).toBe('4.16');
    expect(catalog.find('416.94.1-0', 'x86_64', 'full-iso')?.entry.openshiftVersion).toBe('4.16');
    expect(catalog.find('4.14', 'x86_64', 'full-iso')?.entry.version).toBe('414.92.1-0');
    expect(catalog.find('4.15', 'x86_64', 'full-iso')?.entry.version).toBe('4.16');
  });

  it('finds an image through an openshift_version whose entry lost de-duplication', () => {
    const catalog = new OsImageCatalog([entry('4.14', '414.92.1-0'), entry('4.15', '414.92.1-0')]);
    expect(catalog.find('4.14', 'x86_64', 'full-iso')?.fileName).toBe('rhcos-full-iso-414.92.1-0-x86_64.iso');
  });

  it('picks the newest RHCOS build when one openshift_version has several', () => {
    const catalog = new OsImageCatalog([
      entry('4.14', '414.92.1-0'),
      entry('4.14', '414.92.3-0'),
      entry('4.14', '414.92.2-0'),
    ]);
    expect(catalog.find('4.14', 'x86_64', 'full-iso')?.entry.version).toBe('414.92.3-0');
  });

  it('accepts arch aliases and keeps types and arches apart', () => {
    const catalog = new OsImageCatalog([
      entry('4.14', '414.1', { cpuArchitecture: 'arm64' }),
      entry('4.14', '414.2', { type: 'disconnected-iso' }),
    ]);
    expect(catalog.find('4.14', 'aarch64', 'full-iso')?.entry.version).toBe('414.1');
    expect(catalog.find('4.14', 'x86_64', 'full-iso')).toBeUndefined();
    expect(catalog.find('4.14', 'amd64', 'disconnected-iso')?.entry.version).toBe('414.2');
    expect(catalog.find('4.14', 'sparc', 'full-iso')).toBeUndefined();
    expect(catalog.find('9.99', 'x86_64', 'disconnected-iso')).toBeUndefined();
  });
});
