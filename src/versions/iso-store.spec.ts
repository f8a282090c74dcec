import { describe, expect, it } from '@jest/globals';
import type { OsImageEntry } from '../config/catalog.js';
import type { VerifiedRecord } from './cache-files.js';
import { checkAgainstCatalog } from './iso-store.js';

const OLD_URL = 'https://old.example.com/rhcos.iso?token=old-secret';
const NEW_URL = 'https://user:pass@new.example.com/rhcos.iso?token=new-secret';
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function entry(url: string, sha256?: string): OsImageEntry {
  return {
    openshiftVersion: '4.18',
    cpuArchitecture: 'x86_64',
    version: '418.1',
    type: 'full-iso',
    url,
    ...(sha256 && { sha256 }),
  };
}

function record(url?: string, sha256?: string): VerifiedRecord {
  return { size: 1, verifiedAt: '2025-01-01T00:00:00.000Z', ...(url && { url }), ...(sha256 && { sha256 }) };
}

describe('checkAgainstCatalog', () => {
  it.each<[string, VerifiedRecord | undefined, OsImageEntry, string]>([
    ['same URL, no sha256', record(OLD_URL), entry(OLD_URL), 'reuse'],
    ['same URL and sha256', record(OLD_URL, SHA_A), entry(OLD_URL, SHA_A), 'reuse'],
    ['same URL, the catalog dropped its sha256', record(OLD_URL, SHA_A), entry(OLD_URL), 'reuse'],
    ['same URL, another sha256', record(OLD_URL, SHA_A), entry(OLD_URL, SHA_B), 'hash'],
    ['same URL, a sha256 the record does not vouch for', record(OLD_URL), entry(OLD_URL, SHA_A), 'hash'],
    ['another URL, same sha256', record(OLD_URL, SHA_A), entry(NEW_URL, SHA_A), 'hash'],
    ['another URL, no sha256', record(OLD_URL, SHA_A), entry(NEW_URL), 'download'],
    ['a record without URL, no sha256', record(), entry(NEW_URL), 'reuse'],
    ['no record, no sha256', undefined, entry(NEW_URL), 'reuse'],
    ['a record without URL, a sha256', record(), entry(NEW_URL, SHA_A), 'hash'],
  ])('%s → %s', (_case, recorded, catalogEntry, action) => {
    expect(checkAgainstCatalog(recorded, catalogEntry).action).toBe(action);
  });

  it("says why without the URLs' credentials", () => {
    const { why } = checkAgainstCatalog(record(OLD_URL, SHA_A), entry(NEW_URL));
    expect(why).toContain('https://old.example.com/rhcos.iso');
    expect(why).toContain('https://new.example.com/rhcos.iso');
    expect(why).not.toMatch(/secret|user|pass/);
  });
});
