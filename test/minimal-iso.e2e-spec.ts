import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { extractWithXorriso, findWithXorriso } from './fixtures/xorriso.js';
import { runTool } from './fixtures/iso-fixture-tools.js';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet, jsonOf } from './support/http-client.js';
import { unpackWithSystemTools } from './support/payload-tools.js';
import { buildRamdisk } from './support/ramdisk.js';
import { writeFile } from 'node:fs/promises';

const WITH_RAMDISK = 'c0ffee00-1234-4abc-8def-0123456789ab';
const NO_RAMDISK = 'c0ffee00-1234-4abc-8def-0123456789ac';
const BIG_RAMDISK = 'c0ffee00-1234-4abc-8def-0123456789ad';
const IGNITION = Buffer.from(
  JSON.stringify({
    ignition: { version: '3.2.0' },
    storage: { files: [{ path: '/etc/minimal-test', contents: { source: 'data:,minimal' } }] },
  }),
);
const BASE_URL = 'https://images.example.com:8443';
const RAMDISK_FILES = {
  'etc/assisted/network/eth0.nmconnection': '[connection]\nid=eth0\n',
  'etc/assisted/hostconfig.json': '{"host":"a"}\n',
};
const DATA = (env: DownloadEnv): string => join(env.work, 'data');

let env: DownloadEnv;
let ramdisk: Buffer;

beforeAll(async () => {
  ramdisk = await buildRamdisk(RAMDISK_FILES);
  // Random bytes keep their size when gzip'd: this ramdisk cannot fit the 1 MiB area.
  const { randomBytes } = await import('node:crypto');
  env = await startDownloadEnv({
    fixtures: [
      { name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0' },
      { name: 'arm64', openshiftVersion: '4.18', version: '418.94.1-0', arch: 'arm64' },
      { name: 'ppc64le', openshiftVersion: '4.17', version: '417.94.1-0', arch: 'ppc64le' },
      { name: 's390x', openshiftVersion: '4.18', version: '418.94.1-0', arch: 's390x' },
    ],
    infraEnvs: [
      {
        id: WITH_RAMDISK,
        ignition: IGNITION,
        ramdisk,
        kernelArguments: '[{"operation":"append","value":"minimal.test=1"}]',
      },
      { id: NO_RAMDISK, ignition: IGNITION },
      { id: BIG_RAMDISK, ignition: IGNITION, ramdisk: randomBytes(1024 * 1024 + 100) },
    ],
    env: { IMAGE_SERVICE_BASE_URL: `${BASE_URL}/` },
  });
});

afterAll(async () => {
  await env.close();
});

/** "El Torito boot img : 1 BIOS y none 0x0000 0x00 4 33" → the platform column (BIOS / UEFI). */
function platformOf(line: string): string {
  return line.split(':')[1]?.trim().split(' ')[1] ?? line;
}

function templatePath(version: string, arch: string): string {
  return join(DATA(env), `rhcos-minimal-iso-${version}-${arch}.iso`);
}

describe('minimal ISO templates built during the sync', () => {
  it.each([
    ['x86_64', '418.94.1-0', ['EFI/redhat/grub.cfg', 'isolinux/isolinux.cfg'], true],
    ['arm64', '418.94.1-0', ['EFI/redhat/grub.cfg'], true],
    ['ppc64le', '417.94.1-0', ['boot/grub/grub.cfg'], false],
  ])(
    '%s: no rootfs, a 1 MiB zero ramdisk area, the rootfs URL on the kernel lines',
    async (arch, version, configs, nmstate) => {
      const template = templatePath(version, arch);
      const paths = await findWithXorriso(template, 'f');
      expect(paths).not.toContain('images/pxeboot/rootfs.img');
      expect(paths.includes('images/nmstate.img')).toBe(nmstate);
      const area = await extractWithXorriso(template, 'images/assisted_installer_custom.img');
      expect(area.length).toBe(1024 * 1024);
      expect(area.every((byte) => byte === 0)).toBe(true);
      const rootfsUrl = `${BASE_URL}/boot-artifacts/rootfs?arch=${arch}&version=${version}`;
      for (const config of configs) {
        const text = (await extractWithXorriso(template, config)).toString();
        const kernelLines = text.split('\n').filter((line) => /^\s*(linux|append)\s/.test(line));
        expect(kernelLines.length).toBeGreaterThan(0);
        for (const line of kernelLines) {
          expect(line).toContain(`coreos.live.rootfs_url="${rootfsUrl}"`);
          expect(line).not.toContain('coreos.liveiso=');
        }
        expect(text).toContain(nmstate ? 'images/nmstate.img' : 'assisted_installer_custom.img');
      }
      const { stdout } = await runTool('xorriso', ['-indev', template, '-pvd_info']);
      expect(stdout.toString()).toMatch(/Volume Id\s*:\s*rhcos-418\.94\.202501010000-0/);
    },
  );

  it('x86_64: keeps both El Torito images and the hybrid MBR/GPT, and kargs.json matches the edited files', async () => {
    const template = templatePath('418.94.1-0', 'x86_64');
    const source = env.isos.x86?.path ?? '';
    const bootImages = async (iso: string): Promise<string[]> =>
      (await runTool('xorriso', ['-indev', iso, '-report_el_torito', 'plain'])).stdout
        .toString()
        .split('\n')
        .filter((line) => /^El Torito boot img\s*:/.test(line))
        .map((line) => line.replace(/\s+\d+\s*$/, '').replace(/\s+/g, ' '));
    const sourceImages = await bootImages(source);
    expect(sourceImages.length).toBe(2);
    expect((await bootImages(template)).map(platformOf)).toEqual(sourceImages.map(platformOf));
    const head = Buffer.alloc(1024);
    const handle = await (await import('node:fs/promises')).open(template, 'r');
    await handle.read(head, 0, 1024, 0);
    await handle.close();
    expect(head.readUInt16LE(510)).toBe(0xaa55);
    expect(head.subarray(512, 520).toString('latin1')).toBe('EFI PART');

    const kargs = JSON.parse((await extractWithXorriso(template, 'coreos/kargs.json')).toString()) as {
      default: string;
      size: number;
      files: { path: string; offset: number }[];
    };
    expect(kargs.default).toContain(
      `coreos.live.rootfs_url="${BASE_URL}/boot-artifacts/rootfs?arch=x86_64&version=418.94.1-0"`,
    );
    for (const file of kargs.files) {
      const text = (await extractWithXorriso(template, file.path)).toString('latin1');
      expect(text.slice(file.offset, file.offset + kargs.default.length)).toBe(kargs.default);
      expect(text.indexOf('# COREOS_KARG_EMBED_AREA') - file.offset).toBe(kargs.size);
    }
  });

  it('builds no template for s390x and answers a minimal-iso request for it with a 404 that says why', async () => {
    await expect(readFile(templatePath('418.94.1-0', 's390x'))).rejects.toThrow();
    const response = await httpGet(`${env.app.baseUrl}/images/${NO_RAMDISK}?version=4.18&arch=s390x&type=minimal-iso`);
    expect(response.status).toBe(404);
    expect(jsonOf(response).message).toMatch(/s390x full-iso images have no minimal ISO/);
  });
});

describe('minimal ISO downloads', () => {
  async function download(id: string, query: string): Promise<string> {
    const response = await httpGet(`${env.app.baseUrl}/images/${id}?${query}`);
    expect(response.status).toBe(200);
    const path = join(env.work, `minimal-${id}-${query.replace(/\W/g, '_')}.iso`);
    await writeFile(path, response.body);
    return path;
  }

  it('carries the Ignition, the ramdisk followed by zeros, and the extra kargs (checked with xorriso)', async () => {
    const iso = await download(WITH_RAMDISK, 'version=4.18&type=minimal-iso');
    const ignition = (await unpackWithSystemTools(await extractWithXorriso(iso, 'images/ignition.img'))).get(
      'config.ign',
    );
    expect(ignition?.data.equals(IGNITION)).toBe(true);
    const area = await extractWithXorriso(iso, 'images/assisted_installer_custom.img');
    expect(area.length).toBe(1024 * 1024);
    expect(area.subarray(0, ramdisk.length).equals(ramdisk)).toBe(true);
    expect(area.subarray(ramdisk.length).every((byte) => byte === 0)).toBe(true);
    const unpacked = await unpackWithSystemTools(area);
    for (const [path, contents] of Object.entries(RAMDISK_FILES))
      expect(unpacked.get(path)?.data.toString()).toBe(contents);
    for (const config of ['EFI/redhat/grub.cfg', 'isolinux/isolinux.cfg']) {
      const kernelLine = (await extractWithXorriso(iso, config))
        .toString()
        .split('\n')
        .find((line) => line.includes('coreos.live.rootfs_url='));
      expect(kernelLine?.trimEnd().endsWith(' minimal.test=1')).toBe(true);
    }
  });

  it('asks assisted-service for the minimal-iso Ignition and the ramdisk', async () => {
    const before = env.assisted.calls.length;
    await httpGet(`${env.app.baseUrl}/byid/${WITH_RAMDISK}/4.18/x86_64/minimal.iso?api_key=minimal-calls`, {
      method: 'HEAD',
    });
    const calls = env.assisted.calls.slice(before);
    expect(calls.map((call) => call.kind).sort()).toEqual(['ignition', 'infra-env', 'minimal-initrd']);
    expect(calls.find((call) => call.kind === 'ignition')?.query.get('discovery_iso_type')).toBe('minimal-iso');
  });

  it('leaves the ramdisk area zero when assisted-service has no ramdisk (204)', async () => {
    const iso = await download(NO_RAMDISK, 'version=4.18&type=minimal-iso&arch=aarch64');
    const area = await extractWithXorriso(iso, 'images/assisted_installer_custom.img');
    expect(area.every((byte) => byte === 0)).toBe(true);
  });

  it('refuses a ramdisk larger than the 1 MiB area with a clear 400', async () => {
    const response = await httpGet(`${env.app.baseUrl}/images/${BIG_RAMDISK}?version=4.18&type=minimal-iso`);
    expect(response.status).toBe(400);
    expect(jsonOf(response).message).toMatch(/ramdisk is 1048676 bytes, larger than the 1048576-byte ramdisk area/);
  });
});

describe('the rootfs URL of a minimal ISO', () => {
  it("uses the catalog entry's rootfs_url without IMAGE_SERVICE_BASE_URL, and fails the image on one with $ or \\", async () => {
    const { mkdtemp, rm: remove } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { startTestApp, waitFor } = await import('./support/test-app.js');
    const work = await mkdtemp(join(tmpdir(), 'rootfs-url-'));
    const iso = env.isos.x86?.path ?? '';
    const entry = (version: string, rootfsUrl: string): Record<string, string> => ({
      openshift_version: '4.17',
      cpu_architecture: 'x86_64',
      url: `file://${iso}`,
      version,
      rootfs_url: rootfsUrl,
    });
    const app = await startTestApp({
      DATA_DIR: join(work, 'data'),
      DATA_TEMP_DIR: join(work, 'tmp'),
      OS_IMAGES: JSON.stringify([
        entry('417.1', 'https://mirror.example.com/rootfs-417.img'),
        entry('417.2', 'https://mirror.example.com/$evil/rootfs.img'),
      ]),
    });
    try {
      const states = await waitFor(
        async () => {
          const body = (await (await fetch(`${app.baseUrl}/health`)).json()) as {
            details: { images: Record<string, { status: string; reason?: string }> };
          };
          const values = Object.entries(body.details.images).filter(([key]) => key !== 'status');
          return values.every(([, state]) => state.status === 'ready' || state.status === 'failed')
            ? Object.fromEntries(values)
            : undefined;
        },
        20_000,
        'both images to settle',
      );
      expect(states['rhcos-full-iso-417.1-x86_64.iso']?.status).toBe('ready');
      expect(states['rhcos-full-iso-417.2-x86_64.iso']).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(/\$/),
      });
      const grub = (
        await extractWithXorriso(join(work, 'data', 'rhcos-minimal-iso-417.1-x86_64.iso'), 'EFI/redhat/grub.cfg')
      ).toString();
      expect(grub).toContain('coreos.live.rootfs_url="https://mirror.example.com/rootfs-417.img"');
    } finally {
      await app.close();
      await remove(work, { recursive: true, force: true });
    }
  });
});
