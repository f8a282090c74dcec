import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { extractWithXorriso } from './fixtures/xorriso.js';
import { customizableAreas } from './support/iso-areas.js';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet } from './support/http-client.js';
import { unpackWithSystemTools } from './support/payload-tools.js';

const WITH_KARGS = '3f1e9c1a-5a8b-4c3d-9e2f-1a2b3c4d5e6f';
const NO_KARGS = '7c6b5a49-3827-4165-a4b3-c2d1e0f9a8b7';
const EXTRA_KARGS = ['p1', 'key=value', 'rd.net.timeout.carrier="60 s"'];
// An Ignition of realistic size and content that does not compress to nothing.
const IGNITION = Buffer.from(
  JSON.stringify({
    ignition: { version: '3.2.0' },
    storage: {
      files: [{ path: '/etc/blob', contents: { source: `data:;base64,${randomBytes(12_000).toString('base64')}` } }],
    },
  }),
);

let env: DownloadEnv;

beforeAll(async () => {
  env = await startDownloadEnv({
    fixtures: [
      { name: 'x86-json', openshiftVersion: '4.18', version: '418.94.1-0' },
      {
        name: 'x86-legacy',
        openshiftVersion: '4.16',
        version: '416.94.1-0',
        iso: { igninfo: false, kargsJson: false, volumeId: 'rhcos-416.94.1-0' },
      },
      { name: 's390x', openshiftVersion: '4.18', version: '418.94.1-0', arch: 's390x' },
      { name: 'ppc64le', openshiftVersion: '4.18', version: '418.94.1-0', arch: 'ppc64le' },
      { name: 'arm64', openshiftVersion: '4.18', version: '418.94.1-0', arch: 'arm64' },
    ],
    infraEnvs: [
      {
        id: WITH_KARGS,
        ignition: IGNITION,
        kernelArguments: JSON.stringify(EXTRA_KARGS.map((value) => ({ operation: 'append', value }))),
      },
      { id: NO_KARGS, ignition: IGNITION },
    ],
  });
});

afterAll(async () => {
  await env.close();
});

function changedRanges(base: Buffer, served: Buffer): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  for (let i = 0; i < base.length; i++) {
    if (base[i] === served[i]) continue;
    const last = ranges.at(-1);
    if (last !== undefined && last.end === i) last.end = i + 1;
    else ranges.push({ start: i, end: i + 1 });
  }
  return ranges;
}

async function ignitionIn(iso: Buffer, isoPath: string, arch: string): Promise<Buffer | undefined> {
  const areas = await customizableAreas(isoPath, arch, [], '');
  const area = areas[0];
  if (area === undefined) throw new Error('no ignition area');
  const files = await unpackWithSystemTools(iso.subarray(area.start, area.end));
  return files.get('config.ign')?.data;
}

const CASES = [
  {
    name: 'x86_64 with igninfo.json and kargs.json',
    fixture: 'x86-json',
    version: '4.18',
    arch: 'x86_64',
    configs: ['EFI/redhat/grub.cfg', 'isolinux/isolinux.cfg'],
    id: WITH_KARGS,
  },
  {
    name: 'x86_64 without igninfo.json and kargs.json',
    fixture: 'x86-legacy',
    version: '4.16',
    arch: 'x86_64',
    configs: ['EFI/redhat/grub.cfg', 'isolinux/isolinux.cfg'],
    id: WITH_KARGS,
  },
  {
    name: 'ppc64le',
    fixture: 'ppc64le',
    version: '4.18',
    arch: 'ppc64le',
    configs: ['boot/grub/grub.cfg'],
    id: WITH_KARGS,
  },
  {
    name: 'arm64',
    fixture: 'arm64',
    version: '4.18',
    arch: 'aarch64',
    configs: ['EFI/redhat/grub.cfg'],
    id: WITH_KARGS,
  },
  {
    name: 's390x (Ignition inside cdboot.img, no kargs)',
    fixture: 's390x',
    version: '4.18',
    arch: 's390x',
    configs: [],
    id: NO_KARGS,
  },
];

describe.each(CASES)('the customised full ISO, $name', ({ fixture, version, arch, configs, id }) => {
  let served: Buffer;
  let base: Buffer;
  let servedPath: string;

  beforeAll(async () => {
    const iso = env.isos[fixture];
    if (iso === undefined) throw new Error(`no fixture ${fixture}`);
    base = await readFile(iso.path);
    const response = await httpGet(`${env.app.baseUrl}/images/${id}?version=${version}&arch=${arch}`);
    expect(response.status).toBe(200);
    served = response.body;
    servedPath = `${env.work}/served-${fixture}.iso`;
    await writeFile(servedPath, served);
  });

  it('has the base size and differs from it only inside the Ignition and kernel-argument areas', async () => {
    const iso = env.isos[fixture];
    expect(served.length).toBe(base.length);
    const areas = await customizableAreas(iso?.path ?? '', arch, configs, iso?.defaultKargs ?? '');
    const changes = changedRanges(base, served);
    expect(changes.length).toBeGreaterThan(0);
    for (const change of changes) {
      const inside = areas.find((area) => change.start >= area.start && change.end <= area.end);
      expect(inside).toBeDefined();
    }
    // Every kargs area really was written to.
    for (const area of areas.filter((a) => a.what !== 'ignition')) {
      expect(changes.some((change) => change.start >= area.start && change.end <= area.end)).toBe(true);
    }
  });

  it('carries exactly the Ignition assisted-service sent, extracted with xorriso, gzip and cpio', async () => {
    const config = await ignitionIn(served, servedPath, arch);
    expect(config?.equals(IGNITION)).toBe(true);
  });

  (configs.length === 0 ? it.skip : it)(
    'shows the extra kargs on the kernel line and keeps the marker line intact',
    async () => {
      const defaultKargs = env.isos[fixture]?.defaultKargs ?? '';
      for (const config of configs) {
        const before = (await extractWithXorriso(env.isos[fixture]?.path ?? '', config)).toString('utf8').split('\n');
        const after = (await extractWithXorriso(servedPath, config)).toString('utf8').split('\n');
        expect(after).toHaveLength(before.length);
        const kernelLine = after.findIndex((line) => line.includes(defaultKargs));
        expect(after[kernelLine]?.endsWith(`${defaultKargs} ${EXTRA_KARGS.join(' ')}`)).toBe(true);
        const marker = after[kernelLine + 1] ?? '';
        expect(marker).toMatch(/^#+ COREOS_KARG_EMBED_AREA$/);
        expect(after.filter((_line, i) => i !== kernelLine && i !== kernelLine + 1)).toEqual(
          before.filter((_line, i) => i !== kernelLine && i !== kernelLine + 1),
        );
      }
    },
  );
});
