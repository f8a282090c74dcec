import { describe, expect, it } from '@jest/globals';
import {
  cacheFileKind,
  cacheFileName,
  isoCacheNames,
  nmstateImageName,
  nmstateTemporaryName,
  recordTemporaryName,
  templateTemporaryName,
} from './cache-files.js';

const ISO = cacheFileName('full-iso', '418.94.202501010000-0', 'x86_64');
const TEMPLATE = cacheFileName('minimal-iso', '418.94.202501010000-0', 'arm64');
const NMSTATE = nmstateImageName({ version: '418.94.202501010000-0', cpuArchitecture: 's390x' });

describe('cache file names', () => {
  it('names cache files rhcos-<type>-<version>-<arch>.iso', () => {
    expect(cacheFileName('full-iso', '414.92.1-0', 'arm64')).toBe('rhcos-full-iso-414.92.1-0-arm64.iso');
    expect(cacheFileName('minimal-iso', '414.92.1-0', 'x86_64')).toBe('rhcos-minimal-iso-414.92.1-0-x86_64.iso');
  });

  it('recognises every name the cache produces, temporary ones included', () => {
    const { iso, partial, partialRecord, verifiedRecord } = isoCacheNames(ISO);
    expect([iso, partial, partialRecord, verifiedRecord].map((name) => cacheFileKind(name))).toEqual([
      'iso',
      'partial',
      'partial-record',
      'verified-record',
    ]);
    expect(cacheFileKind(TEMPLATE)).toBe('iso');
    expect(cacheFileKind(cacheFileName('disconnected-iso', '4.6', 'ppc64le'))).toBe('iso');
    expect(cacheFileKind(NMSTATE)).toBe('nmstate');
    expect(cacheFileKind(templateTemporaryName(TEMPLATE))).toBe('temporary');
    expect(cacheFileKind(recordTemporaryName(partialRecord))).toBe('temporary');
    expect(cacheFileKind(recordTemporaryName(verifiedRecord))).toBe('temporary');
    expect(cacheFileKind(nmstateTemporaryName(NMSTATE))).toBe('temporary');
  });

  it('hides the template temporary file and gives each temporary name a fresh UUID', () => {
    expect(templateTemporaryName(TEMPLATE)).toMatch(/^\.rhcos-minimal-iso-.*\.tmp$/);
    expect(templateTemporaryName(TEMPLATE)).not.toBe(templateTemporaryName(TEMPLATE));
  });

  it.each([
    'ubuntu-22.04-live-server-amd64.iso',
    'rhcos-full-iso-418-x86_64.iso.bak',
    'rhcos-live-iso-418-x86_64.iso',
    'rhcos-full-iso-418-riscv64.iso',
    '.rhcos-full-iso-418-x86_64.iso',
    '.rhcos-full-iso-418-x86_64.iso.not-a-uuid.tmp',
    'rhcos-full-iso-418-x86_64.iso.0b7c2a54-4a69-4f5e-9d43-111111111111.tmp',
    'nmstate-418-x86_64.img.tmp',
    'notes.txt',
    '.keep',
    'lost+found',
  ])('does not claim %s', (name) => {
    expect(cacheFileKind(name)).toBeUndefined();
  });
});
