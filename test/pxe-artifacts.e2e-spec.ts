import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_FIXTURE_VOLUME_ID } from './fixtures/iso-fixture.js';
import { fixtureNmstatectl } from './fixtures/fixture-rootfs.js';
import { extractWithXorriso } from './fixtures/xorriso.js';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet, jsonOf } from './support/http-client.js';
import { unpackWithSystemTools } from './support/payload-tools.js';
import { buildRamdisk } from './support/ramdisk.js';

const WITH_RAMDISK = 'd00dfeed-0000-4000-8000-000000000001';
const NO_RAMDISK = 'd00dfeed-0000-4000-8000-000000000002';
const IGNITION = Buffer.from(JSON.stringify({ ignition: { version: '3.2.0' }, passwd: { users: [{ name: 'core' }] } }));
const RAMDISK_FILES = { 'etc/assisted/network/ens3.nmconnection': '[connection]\nid=ens3\ntype=ethernet\n' };
const LAST_MODIFIED = new Date('2026-02-03T04:05:06Z');

let env: DownloadEnv;
let ramdisk: Buffer;

beforeAll(async () => {
  ramdisk = await buildRamdisk(RAMDISK_FILES);
  env = await startDownloadEnv({
    fixtures: [
      { name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0' },
      { name: 'x86-old', openshiftVersion: '4.17', version: '417.94.1-0' },
      // s390x without images/pxeboot/vmlinuz: the kernel artifact falls back to kernel.img.
      {
        name: 's390x',
        openshiftVersion: '4.18',
        version: '418.94.1-0',
        arch: 's390x',
        iso: {
          omit: ['images/pxeboot/vmlinuz'],
          extraFiles: { 'images/pxeboot/kernel.img': Buffer.from('s390x kernel image\n'.repeat(100)) },
        },
      },
    ],
    infraEnvs: [
      { id: WITH_RAMDISK, ignition: IGNITION, ramdisk, lastModified: LAST_MODIFIED },
      { id: NO_RAMDISK, ignition: IGNITION, lastModified: LAST_MODIFIED },
    ],
  });
});

afterAll(async () => {
  await env.close();
});

function url(path: string): string {
  return `${env.app.baseUrl}${path}`;
}

/** Splits a served PXE initrd into its parts by the lengths of the parts we can get independently. */
async function expectPxeInitrd(
  served: Buffer,
  isoPath: string,
  parts: { ramdisk?: Buffer; nmstate?: Buffer },
): Promise<void> {
  const initrd = await extractWithXorriso(isoPath, 'images/pxeboot/initrd.img');
  expect(served.subarray(0, initrd.length).equals(initrd)).toBe(true);
  const tail = Buffer.concat([parts.ramdisk ?? Buffer.alloc(0), parts.nmstate ?? Buffer.alloc(0)]);
  expect(served.subarray(served.length - tail.length).equals(tail)).toBe(true);
  const payload = served.subarray(initrd.length, served.length - tail.length);
  expect(payload.length % 4).toBe(0);
  const unpacked = await unpackWithSystemTools(payload);
  expect([...unpacked.keys()]).toEqual(['config.ign']);
  expect(unpacked.get('config.ign')?.data.equals(IGNITION)).toBe(true);
}

describe('PXE initrd', () => {
  it('is initrd.img ‖ Ignition payload ‖ ramdisk ‖ nmstate.img for a 4.18 image with a ramdisk', async () => {
    const response = await httpGet(url(`/images/${WITH_RAMDISK}/pxe-initrd?version=4.18&arch=x86_64`));
    expect(response.status).toBe(200);
    expect(response.headers['content-disposition']).toBe(`attachment; filename=${WITH_RAMDISK}-initrd.img`);
    expect(response.headers['last-modified']).toBe(LAST_MODIFIED.toUTCString());
    const nmstate = await readFile(join(env.work, 'data', 'nmstate-418.94.1-0-x86_64.img'));
    await expectPxeInitrd(response.body, env.isos.x86?.path ?? '', { ramdisk, nmstate });
  });

  it('has no nmstate.img when assisted-service has no ramdisk (204)', async () => {
    const response = await httpGet(url(`/images/${NO_RAMDISK}/pxe-initrd?version=4.18`));
    await expectPxeInitrd(response.body, env.isos.x86?.path ?? '', {});
  });

  it('has no nmstate.img for an image older than 4.18.0-ec.0', async () => {
    const response = await httpGet(url(`/images/${WITH_RAMDISK}/pxe-initrd?version=4.17`));
    await expectPxeInitrd(response.body, env.isos['x86-old']?.path ?? '', { ramdisk });
  });

  it('asks for the Ignition without discovery_iso_type, and for the ramdisk, but not for the infra-env', async () => {
    const before = env.assisted.calls.length;
    await httpGet(url(`/images/${WITH_RAMDISK}/pxe-initrd?version=4.18&api_key=pxe-calls`), { method: 'HEAD' });
    const calls = env.assisted.calls.slice(before);
    expect(calls.map((call) => call.kind).sort()).toEqual(['ignition', 'minimal-initrd']);
    expect(calls.find((call) => call.kind === 'ignition')?.query.has('discovery_iso_type')).toBe(false);
  });

  it('serves ranges of the concatenation equal to slices of the whole', async () => {
    const whole = (await httpGet(url(`/images/${WITH_RAMDISK}/pxe-initrd?version=4.18`))).body;
    const initrdLength = (await extractWithXorriso(env.isos.x86?.path ?? '', 'images/pxeboot/initrd.img')).length;
    for (const [start, end] of [
      [0, 0],
      [initrdLength - 3, initrdLength + 3],
      [initrdLength, whole.length - 1],
      [whole.length - ramdisk.length - 2, whole.length - 1],
    ]) {
      const part = await httpGet(url(`/images/${WITH_RAMDISK}/pxe-initrd?version=4.18`), {
        headers: { range: `bytes=${start}-${end}` },
      });
      expect(part.status).toBe(206);
      expect(part.body.equals(whole.subarray(start, (end ?? 0) + 1))).toBe(true);
    }
  });

  it.each([
    ['/pxe-initrd', 400, /version is required/],
    ['/pxe-initrd?version=4.99', 400, /no full-iso image for version "4\.99"/],
    ['/pxe-initrd?version=4.18&arch=riscv', 400, /architecture "riscv"/],
  ])('answers %s with %i', async (suffix, status, message) => {
    const response = await httpGet(url(`/images/${WITH_RAMDISK}${suffix}`));
    expect(response.status).toBe(status);
    expect(jsonOf(response).message).toMatch(message);
  });
});

describe('s390x initrd.addrsize', () => {
  it('is the first 8 bytes of the ISO file and the big-endian length of the s390x PXE initrd', async () => {
    const response = await httpGet(url(`/images/${WITH_RAMDISK}/s390x-initrd-addrsize?version=4.18`));
    expect(response.status).toBe(200);
    expect(response.headers['content-disposition']).toBe(`attachment; filename=${WITH_RAMDISK}-initrd.addrsize`);
    expect(response.body.length).toBe(16);
    const original = await extractWithXorriso(env.isos.s390x?.path ?? '', 'images/initrd.addrsize');
    expect(response.body.subarray(0, 8).equals(original.subarray(0, 8))).toBe(true);
    const initrd = await httpGet(url(`/images/${WITH_RAMDISK}/pxe-initrd?version=4.18&arch=s390x`));
    expect(response.body.readBigUInt64BE(8)).toBe(BigInt(initrd.body.length));
  });

  it('answers 400 without a version', async () => {
    expect((await httpGet(url(`/images/${WITH_RAMDISK}/s390x-initrd-addrsize`))).status).toBe(400);
  });
});

describe('boot artifacts', () => {
  it.each([
    ['rootfs', 'x86_64', 'x86', 'images/pxeboot/rootfs.img'],
    ['kernel', 'x86_64', 'x86', 'images/pxeboot/vmlinuz'],
    ['kernel', 's390x', 's390x', 'images/pxeboot/kernel.img'],
    ['ins-file', 's390x', 's390x', 'generic.ins'],
  ])('%s for %s equals the file xorriso extracts, also by range', async (artifact, arch, fixture, isoPath) => {
    const expected = await extractWithXorriso(env.isos[fixture]?.path ?? '', isoPath);
    const response = await httpGet(url(`/boot-artifacts/${artifact}?version=4.18&arch=${arch}`));
    expect(response.status).toBe(200);
    expect(response.body.equals(expected)).toBe(true);
    const cached = join(env.work, 'data', `rhcos-full-iso-418.94.1-0-${arch}.iso`);
    expect(response.headers['last-modified']).toBe((await stat(cached)).mtime.toUTCString());
    const start = Math.floor(expected.length / 3);
    const part = await httpGet(url(`/boot-artifacts/${artifact}?version=4.18&arch=${arch}`), {
      headers: { range: `bytes=${start}-` },
    });
    expect(part.status).toBe(206);
    expect(part.body.equals(expected.subarray(start))).toBe(true);
  });

  it('calls no assisted-service', async () => {
    const before = env.assisted.calls.length;
    await httpGet(url('/boot-artifacts/kernel?version=4.18'));
    expect(env.assisted.calls.length).toBe(before);
  });

  it.each([
    ['GET', '/boot-artifacts/rootfs', 400, /version is required/],
    ['GET', '/boot-artifacts/rootfs?version=4.99', 400, /no full-iso image/],
    ['GET', '/boot-artifacts/initrd?version=4.18', 404, /unknown boot artifact "initrd"/],
    ['GET', '/boot-artifacts/ins-file?version=4.18&arch=x86_64', 404, /s390x images only/],
    ['POST', '/boot-artifacts/rootfs?version=4.18', 405, /only GET and HEAD/],
    ['DELETE', '/boot-artifacts/kernel?version=4.18', 405, /only GET and HEAD/],
  ])('%s %s → %i', async (method, path, status, message) => {
    const response = await httpGet(url(path), { method });
    expect(response.status).toBe(status);
    expect(jsonOf(response).message).toMatch(message);
    if (status === 405) expect(response.headers.allow).toBe('GET, HEAD');
  });
});

describe('nmstate.img', () => {
  it('unpacks with gzip and cpio to exactly the rootfs nmstatectl, mode 0755', async () => {
    const packed = await readFile(join(env.work, 'data', 'nmstate-418.94.1-0-x86_64.img'));
    const files = await unpackWithSystemTools(packed);
    expect([...files.keys()]).toEqual(['usr/bin/nmstatectl']);
    const binary = files.get('usr/bin/nmstatectl');
    expect(binary?.data.equals(fixtureNmstatectl(DEFAULT_FIXTURE_VOLUME_ID))).toBe(true);
    expect((binary?.mode ?? 0) & 0o777).toBe(0o755);
    const { stdout } = await promisify(execFile)('sh', [
      '-c',
      `gzip -dc < "${join(env.work, 'data', 'nmstate-418.94.1-0-x86_64.img')}" | cpio -tv 2>/dev/null`,
    ]);
    expect(stdout).toMatch(/^-rwxr-xr-x .* usr\/bin\/nmstatectl$/m);
  });

  it('is not made for images older than 4.18.0-ec.0', async () => {
    await expect(stat(join(env.work, 'data', 'nmstate-417.94.1-0-x86_64.img'))).rejects.toThrow();
  });
});

describe('nmstate.img from an EROFS rootfs', () => {
  it('extracts nmstatectl from root.erofs (mkfs.erofs, lz4hc) during the sync', async () => {
    const { buildRootImage, rootfsCpio } = await import('./iso/root-images.js');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const scratch = await mkdtemp(join(tmpdir(), 'erofs-rootfs-'));
    const binary = Buffer.from(`#!/bin/sh\necho erofs nmstatectl\n${'x'.repeat(30_000)}\n`);
    try {
      const image = await buildRootImage(scratch, 'erofs', { 'usr/bin/nmstatectl': { data: binary, mode: 0o755 } });
      const erofs = await startDownloadEnv({
        fixtures: [
          { name: 'x86', openshiftVersion: '4.19', version: '419.96.1-0', iso: { rootfs: rootfsCpio('erofs', image) } },
        ],
        infraEnvs: [],
      });
      try {
        const files = await unpackWithSystemTools(
          await readFile(join(erofs.work, 'data', 'nmstate-419.96.1-0-x86_64.img')),
        );
        expect(files.get('usr/bin/nmstatectl')?.data.equals(binary)).toBe(true);
        expect((files.get('usr/bin/nmstatectl')?.mode ?? 0) & 0o777).toBe(0o755);
      } finally {
        await erofs.close();
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
