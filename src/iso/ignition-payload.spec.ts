import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { IgnitionTooLargeError } from './ignition-area.js';
import {
  buildCompressedCpio,
  buildIgnitionPayload,
  buildNmstateRamdisk,
  IgnitionSizeMeter,
} from './ignition-payload.js';
import { makeTempDir, run } from './ignition-area.test-helpers.js';

let workDir: string;

beforeEach(async () => {
  workDir = await makeTempDir('ignition-payload-');
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Decompresses with the system gzip and extracts with the system cpio; returns the extraction dir and listings. */
async function unpackWithSystemTools(payload: Buffer): Promise<{ dir: string; names: string[]; verbose: string[] }> {
  const payloadPath = path.join(workDir, 'payload.img');
  const archivePath = path.join(workDir, 'payload.cpio');
  await writeFile(payloadPath, payload);
  const { stdout } = await run('gzip', ['-dc', payloadPath]);
  await writeFile(archivePath, stdout);
  const names = (await run('cpio', ['-t', '-F', archivePath])).stdout.toString().split('\n').filter(Boolean);
  const verbose = (await run('cpio', ['-tv', '-F', archivePath])).stdout.toString().split('\n').filter(Boolean);
  const dir = path.join(workDir, 'out');
  await mkdir(dir);
  await run('cpio', ['-idv', '--no-absolute-filenames', '-F', archivePath], { cwd: dir });
  return { dir, names, verbose };
}

function modeColumn(verbose: string[], name: string): string | undefined {
  return verbose.find((line) => line.endsWith(` ${name}`))?.split(/\s+/)[0];
}

describe('buildIgnitionPayload', () => {
  const cases: Array<[string, Buffer]> = [
    ['a small config', Buffer.from('{"ignition":{"version":"3.2.0"}}')],
    ['unicode content', Buffer.from('{"passwd":{"users":[{"name":"core","gecos":"Zoë 🚀 日本語"}]}}', 'utf8')],
    ['empty content', Buffer.alloc(0)],
    ['a large, incompressible config', Buffer.from(randomBytes(3 * 1024 * 1024 + 3).toString('base64'))],
  ];

  it.each(cases)('round-trips %s through gzip and cpio', async (_name, config) => {
    const payload = await buildIgnitionPayload(config);
    expect(payload.length % 4).toBe(0);
    const { dir, names, verbose } = await unpackWithSystemTools(payload);
    expect(names).toEqual(['config.ign']);
    expect(modeColumn(verbose, 'config.ign')).toBe('-rw-r--r--');
    expect((await readFile(path.join(dir, 'config.ign'))).equals(config)).toBe(true);
  });

  it('pads with zero bytes only after the gzip stream', async () => {
    for (let extra = 0; extra < 8; extra++) {
      const payload = await buildIgnitionPayload(Buffer.from('x'.repeat(extra)));
      expect(payload.length % 4).toBe(0);
      expect(payload.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    }
  });

  it('is reproducible for the same input', async () => {
    const config = Buffer.from('{"ignition":{}}');
    expect((await buildIgnitionPayload(config)).equals(await buildIgnitionPayload(config))).toBe(true);
  });

  it('builds a payload that fits within maxBytes exactly as without the bound', async () => {
    const config = Buffer.from(`{"ignition":{"version":"3.2.0"},"data":"${'a'.repeat(4 * 1024 * 1024)}"}`);
    const unbounded = await buildIgnitionPayload(config);
    expect(unbounded.length).toBeLessThan(256 * 1024);
    expect((await buildIgnitionPayload(config, 256 * 1024)).equals(unbounded)).toBe(true);
    expect((await buildIgnitionPayload(config, unbounded.length)).equals(unbounded)).toBe(true);
  });

  it('stops compressing once the output passes maxBytes, and says "more than"', async () => {
    const config = Buffer.from(randomBytes(400 * 1024).toString('base64'));
    const error = await buildIgnitionPayload(config, 256 * 1024).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(IgnitionTooLargeError);
    expect((error as IgnitionTooLargeError).payloadSize).toBeUndefined();
    expect((error as Error).message).toBe(
      "Ignition payload is more than 262144 bytes, larger than the ISO's 262144-byte Ignition area",
    );
  });
});

describe('IgnitionSizeMeter', () => {
  async function meter(
    config: Buffer,
    maxBytes: number,
    chunk = 64 * 1024,
  ): Promise<{ cannotFit: boolean; writtenWhenItGaveUp: number }> {
    const sizeMeter = new IgnitionSizeMeter(maxBytes);
    try {
      for (let at = 0; at < config.length; at += chunk) {
        await sizeMeter.write(config.subarray(at, at + chunk));
        if (sizeMeter.cannotFit) return { cannotFit: true, writtenWhenItGaveUp: Math.min(config.length, at + chunk) };
      }
      await sizeMeter.end();
      return { cannotFit: sizeMeter.cannotFit, writtenWhenItGaveUp: config.length };
    } finally {
      sizeMeter.close();
    }
  }

  it('gives up on an incompressible Ignition long before its end', async () => {
    const config = Buffer.from(randomBytes(6 * 1024 * 1024).toString('base64'));
    const result = await meter(config, 256 * 1024);
    expect(result.cannotFit).toBe(true);
    // About 256 KiB of output come from ~350 KiB of base64; deflate's buffering adds at most a block or two.
    expect(result.writtenWhenItGaveUp).toBeLessThan(1024 * 1024);
  });

  it('lets a large, compressible Ignition through, and its payload then fits', async () => {
    const config = Buffer.from(`{"ignition":{"version":"3.2.0"},"data":"${'ab'.repeat(3 * 1024 * 1024)}"}`);
    expect((await meter(config, 256 * 1024)).cannotFit).toBe(false);
    expect((await buildIgnitionPayload(config, 256 * 1024)).length).toBeLessThan(256 * 1024);
  });

  it('agrees with the payload around the bound: what it lets through either fits or is refused by the payload build', async () => {
    const config = Buffer.from(randomBytes(150 * 1024).toString('base64'));
    const payload = await buildIgnitionPayload(config);
    for (const maxBytes of [payload.length - 4096, payload.length - 8, payload.length, payload.length + 2048]) {
      const { cannotFit } = await meter(config, maxBytes);
      const built = await buildIgnitionPayload(config, maxBytes).then(
        () => 'fits',
        () => 'too large',
      );
      if (cannotFit) expect(built).toBe('too large');
      if (maxBytes >= payload.length) expect(cannotFit).toBe(false);
    }
  });
});

describe('buildNmstateRamdisk / buildCompressedCpio', () => {
  it('holds an executable usr/bin/nmstatectl with its parent directories', async () => {
    const binary = randomBytes(200_001);
    const payload = buildNmstateRamdisk(binary);
    expect(payload.length % 4).toBe(0);
    const { dir, names, verbose } = await unpackWithSystemTools(payload);
    expect(names).toEqual(['usr', 'usr/bin', 'usr/bin/nmstatectl']);
    expect(modeColumn(verbose, 'usr/bin/nmstatectl')).toBe('-rwxr-xr-x');
    expect(modeColumn(verbose, 'usr')).toBe('drwxr-xr-x');
    expect(modeColumn(verbose, 'usr/bin')).toBe('drwxr-xr-x');
    expect((await readFile(path.join(dir, 'usr/bin/nmstatectl'))).equals(binary)).toBe(true);
  });

  it('packs several entries sharing parent directories once', async () => {
    const payload = buildCompressedCpio([
      { path: '/etc/a/one', data: Buffer.from('1'), mode: 0o100600 },
      { path: 'etc/a/two', data: Buffer.from('22'), mode: 0o100644 },
      { path: 'top', data: Buffer.from('333'), mode: 0o100755 },
    ]);
    const { dir, names, verbose } = await unpackWithSystemTools(payload);
    expect(names).toEqual(['etc', 'etc/a', 'etc/a/one', 'etc/a/two', 'top']);
    expect(modeColumn(verbose, 'etc/a/one')).toBe('-rw-------');
    expect(await readFile(path.join(dir, 'etc/a/two'), 'utf8')).toBe('22');
    expect(await readFile(path.join(dir, 'top'), 'utf8')).toBe('333');
  });
});
