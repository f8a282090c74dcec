import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from '@jest/globals';
import { readdir, readFile, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildFixtureIso, missingFixtureTools } from '../fixtures/iso-fixture.js';
import { extractWithXorriso } from '../fixtures/xorriso.js';
import { InvalidRootfsUrlError } from '../../src/iso/boot-config.js';
import { OperationAbortedError, buildMinimalTemplate } from '../../src/iso/index.js';
import { TemplateBuildError, type MinimalTemplateRequest } from '../../src/iso/minimal-template.js';

const missing = await missingFixtureTools({ arch: 'x86_64' });
const ROOTFS_URL = 'https://image-service.example.com/boot-artifacts/rootfs?arch=x86_64&version=4.18';

let baseDir: string;
let fullIso: string;
let outDir: string;
let workDir: string;

beforeAll(async () => {
  baseDir = await mkdtemp(path.join(os.tmpdir(), 'minimal-template-failures-'));
  fullIso = path.join(baseDir, 'full.iso');
  if (missing.length === 0) await buildFixtureIso({ outPath: fullIso, arch: 'x86_64' });
});

afterAll(async () => {
  await rm(baseDir, { recursive: true, force: true });
});

beforeEach(async () => {
  outDir = await mkdtemp(path.join(baseDir, 'out-'));
  workDir = path.join(baseDir, `work-${path.basename(outDir)}`);
});

afterEach(async () => {
  await rm(outDir, { recursive: true, force: true });
  await rm(workDir, { recursive: true, force: true });
});

function request(overrides: Partial<MinimalTemplateRequest> = {}): MinimalTemplateRequest {
  return {
    fullIsoPath: fullIso,
    outputPath: path.join(outDir, 'template.iso'),
    workDir,
    arch: 'x86_64',
    rootfsUrl: ROOTFS_URL,
    ...overrides,
  };
}

/** Nothing left behind: no output, no temp file beside it, an empty scratch dir. */
async function expectNoLeftovers(): Promise<void> {
  expect(await readdir(outDir)).toEqual([]);
  expect(await readdir(workDir).catch(() => [])).toEqual([]);
}

/** Pids of this process's children named `name`, from /proc. */
async function childrenNamed(name: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const match = /^\d+ \((.*)\) (\S) (\d+) /.exec(stat);
    if (match?.[1] === name && match[2] !== 'Z' && Number(match[3]) === process.pid) pids.push(Number(entry));
  }
  return pids;
}

describe('buildMinimalTemplate failures', () => {
  it('refuses a full ISO without grub.cfg', async () => {
    const noGrub = path.join(baseDir, 'no-grub.iso');
    await buildFixtureIso({ outPath: noGrub, arch: 'x86_64', omit: ['EFI/redhat/grub.cfg'] });
    await expect(buildMinimalTemplate(request({ fullIsoPath: noGrub }))).rejects.toThrow(/has no grub\.cfg/);
    await expect(buildMinimalTemplate(request({ fullIsoPath: noGrub }))).rejects.toBeInstanceOf(TemplateBuildError);
    await expectNoLeftovers();
  });

  it.each([
    'https://example.com/rootfs?x=$HOME',
    'https://example.com/a\\b',
    'ftp://example.com/rootfs',
    'https://exa mple.com/',
  ])('refuses the rootfs URL %j before touching anything', async (rootfsUrl) => {
    const error = await buildMinimalTemplate(request({ rootfsUrl })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TemplateBuildError);
    expect((error as TemplateBuildError).cause).toBeInstanceOf(InvalidRootfsUrlError);
    await expectNoLeftovers();
  });

  it('refuses s390x and an output path equal to the source', async () => {
    const s390x = request({ arch: 's390x' as MinimalTemplateRequest['arch'] });
    await expect(buildMinimalTemplate(s390x)).rejects.toThrow(/no minimal ISO template for architecture "s390x"/);
    await expect(buildMinimalTemplate(request({ outputPath: fullIso }))).rejects.toThrow(/cannot overwrite its source/);
    await expectNoLeftovers();
  });

  it('refuses a file that is not an ISO', async () => {
    const notIso = path.join(baseDir, 'not-an-iso.iso');
    await writeFile(notIso, Buffer.alloc(64 * 1024, 7));
    await expect(buildMinimalTemplate(request({ fullIsoPath: notIso }))).rejects.toThrow(TemplateBuildError);
    await expectNoLeftovers();
  });

  it("reports xorriso's own complaint when xorriso fails", async () => {
    // images/nmstate.img already exists as a directory: xorriso will not replace it with a file.
    const clash = path.join(baseDir, 'nmstate-dir.iso');
    await buildFixtureIso({ outPath: clash, arch: 'x86_64', extraFiles: { 'images/nmstate.img/x': 'x' } });
    const error = await buildMinimalTemplate(
      request({ fullIsoPath: clash, nmstateImage: Buffer.from('nmstate') }),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TemplateBuildError);
    expect((error as Error).message).toMatch(/xorriso failed: .*(SORRY|FAILURE).*nmstate\.img/);
    await expectNoLeftovers();
  });

  it('rejects a pre-aborted signal with OperationAbortedError and leaves nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(buildMinimalTemplate(request({ signal: controller.signal }))).rejects.toBeInstanceOf(
      OperationAbortedError,
    );
    await expectNoLeftovers();
  });

  it('kills xorriso on abort and leaves no output, temp file or scratch files', async () => {
    // A 512 MiB kernel keeps xorriso writing long enough to be caught mid-run.
    const kernel = path.join(baseDir, 'big-kernel');
    await writeFile(kernel, '');
    await truncate(kernel, 512 * 1024 * 1024);
    const bigIso = path.join(baseDir, 'big.iso');
    await buildFixtureIso({ outPath: bigIso, arch: 'x86_64', kernel });
    const controller = new AbortController();
    const build = buildMinimalTemplate(request({ fullIsoPath: bigIso, signal: controller.signal }));
    let settled = false;
    build.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    // xorriso creates its output when it acquires the drive, before writing the image.
    while (!settled && (await readdir(outDir)).length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    expect((await readdir(outDir))[0]).toMatch(/^\.template\.iso\..*\.tmp$/);
    expect(await childrenNamed('xorriso')).toHaveLength(1);
    controller.abort(new Error('shutting down'));
    await expect(build).rejects.toBeInstanceOf(OperationAbortedError);
    expect(await childrenNamed('xorriso')).toEqual([]);
    await expectNoLeftovers();
    await rm(bigIso);
  });

  it('replaces an existing template atomically with the new one', async () => {
    const outputPath = path.join(outDir, 'template.iso');
    await writeFile(outputPath, 'old template');
    const otherUrl = 'https://mirror.example.com/rootfs.img';
    await buildMinimalTemplate(request({ rootfsUrl: otherUrl }));
    expect(await readdir(outDir)).toEqual(['template.iso']);
    const grub = (await extractWithXorriso(outputPath, 'EFI/redhat/grub.cfg')).toString('utf8');
    expect(grub).toContain(`coreos.live.rootfs_url="${otherUrl}"`);
    expect(await readdir(workDir)).toEqual([]);
  });
});
