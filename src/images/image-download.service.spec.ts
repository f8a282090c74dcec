import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import { DoesNotFitError } from '../assisted/assisted.errors.js';
import type { Credential } from '../assisted/credentials.js';
import {
  CustomizationService,
  type Customization,
  type CustomizationNeeds,
  type CustomizedImageType,
} from '../assisted/customization.service.js';
import { Clock } from '../common/clock.js';
import { ServiceError } from '../common/service-error.js';
import type { BaseImageType, OsImageEntry } from '../config/catalog.js';
import type { IsoFile, LiveIsoLayout } from '../iso/index.js';
import { ImageCacheService } from '../versions/image-cache.service.js';
import type { ImageState } from '../versions/image-state.js';
import type { CatalogImage } from '../versions/os-image-catalog.js';
import { ImageLayouts, MinimalTemplates, NmstateImages, type VerifiedImage } from '../versions/preparation-steps.js';
import { ImageDownloadService, type ImageRequest } from './image-download.service.js';

const ID = '0b8a4d4e-3c3e-4f5a-9d1e-2f6c7a8b9c0d';
const CREDENTIAL: Credential = { kind: 'image-token', value: 'token' };
const NOW = Date.UTC(2026, 0, 1);
const MTIME = new Date('2025-06-01T00:00:00Z');
const MODIFIED = new Date('2025-07-01T00:00:00Z');
const request = (version: string, arch = 'x86_64'): ImageRequest => ({
  infraEnvId: ID,
  version,
  arch,
  credential: CREDENTIAL,
});

function isoFile(path: string, offset: number, size: number): IsoFile {
  return { path, offset, size, extents: [{ offset, size }], isDirectory: false, mtime: MTIME };
}

function catalogImage(version: string, cpuArchitecture: 'x86_64' | 's390x', type: BaseImageType): CatalogImage {
  const entry: OsImageEntry = { openshiftVersion: '4.18', cpuArchitecture, url: 'https://x/y.iso', version, type };
  const key = `rhcos-${type}-${version}-${cpuArchitecture}`;
  return { key, fileName: `${key}.iso`, entry, openshiftVersions: ['4.18'] };
}

function layoutOf(isoPath: string, files: LiveIsoLayout['files'] = {}): LiveIsoLayout {
  return {
    isoPath,
    size: 1 << 20,
    ignitionArea: { file: 'images/ignition.img', offset: 32_768, length: 4096 },
    kargsAreas: [
      {
        path: 'EFI/redhat/grub.cfg',
        fileOffset: 0,
        offset: 65_536,
        size: 64,
        defaultKargs: 'a=b',
        end: '\n',
        pad: '#',
      },
    ],
    files: {
      initrd: isoFile('images/pxeboot/initrd.img', 100_000, 5_000),
      kernel: isoFile('images/pxeboot/vmlinuz', 110_000, 3_000),
      ...files,
    },
  };
}

const X86 = catalogImage('418.1', 'x86_64', 'full-iso');
const S390X = catalogImage('418.1', 's390x', 'full-iso');
const DISCONNECTED = catalogImage('418.1', 'x86_64', 'disconnected-iso');
const PENDING = catalogImage('419.1', 'x86_64', 'full-iso');

/** The image cache as the service reads it: a catalog and each image's state. */
class FakeImageCache {
  readonly states = new Map<CatalogImage, ImageState>();
  readonly verified = new Map<CatalogImage, VerifiedImage>();
  readonly catalog = {
    find: (version: string, arch: string, type: BaseImageType): CatalogImage | undefined =>
      [X86, S390X, DISCONNECTED, PENDING].find(
        ({ entry }) => entry.version === version && entry.cpuArchitecture === arch && entry.type === type,
      ),
  };

  readyImage(image: CatalogImage): VerifiedImage | undefined {
    return this.verified.get(image);
  }

  stateOf(image: CatalogImage): ImageState {
    return this.states.get(image) ?? { status: 'pending' };
  }

  lastFailure(): undefined {
    return undefined;
  }
}

/** Hands out a fixed customisation and records what was asked; `derive` keeps nothing. */
class FakeCustomizations {
  readonly asked: { type: CustomizedImageType; needs: CustomizationNeeds }[] = [];
  customization: Customization = {
    ignitionPayload: Buffer.from('ignition payload'),
    lastModified: MODIFIED,
    kernelArguments: ['ip=dhcp'],
  };

  get(_id: string, type: CustomizedImageType, _credential: Credential, needs: CustomizationNeeds) {
    this.asked.push({ type, needs });
    return Promise.resolve(this.customization);
  }

  derive<S, T>(customization: Customization, slot: S, build: (customization: Customization, slot: S) => T): T {
    return build(customization, slot);
  }
}

let work: string;
let isoPath: string;
let cache: FakeImageCache;
let layouts: Map<CatalogImage, LiveIsoLayout>;
let customizations: FakeCustomizations;
let module: TestingModule;
let service: ImageDownloadService;
const signal = new AbortController().signal;

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as ServiceError,
  );
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'image-download-'));
  isoPath = join(work, 'base.iso');
  // An s390x initrd.addrsize at 4096: the load address 0x02000000, then a size the service replaces.
  const iso = Buffer.alloc(8192);
  iso.writeBigUInt64BE(0x02000000n, 4096);
  await writeFile(isoPath, iso);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  cache = new FakeImageCache();
  customizations = new FakeCustomizations();
  const verified = (image: CatalogImage): VerifiedImage =>
    ({ image, path: isoPath, sizeBytes: 8192, mtime: MTIME }) as VerifiedImage;
  for (const image of [X86, S390X, DISCONNECTED]) cache.verified.set(image, verified(image));
  layouts = new Map([
    [X86, layoutOf(isoPath)],
    [DISCONNECTED, layoutOf(isoPath)],
    [S390X, layoutOf(isoPath, { initrdAddrsize: isoFile('images/initrd.addrsize', 4096, 16) })],
  ]);
  const clock = new Clock();
  clock.now = () => NOW;
  module = await Test.createTestingModule({
    providers: [
      ImageDownloadService,
      { provide: ImageCacheService, useValue: cache },
      { provide: ImageLayouts, useValue: { get: (image: CatalogImage) => layouts.get(image) } },
      {
        provide: MinimalTemplates,
        useValue: { get: () => undefined, whyUnavailable: () => 'IMAGE_SERVICE_BASE_URL is not set' },
      },
      { provide: NmstateImages, useValue: { get: () => ({ path: '/cache/nmstate.img', size: 700 }) } },
      { provide: CustomizationService, useValue: customizations },
      { provide: Clock, useValue: clock },
    ],
  }).compile();
  service = module.get(ImageDownloadService);
});

afterEach(async () => {
  await module.close();
});

describe('ImageDownloadService', () => {
  it('overlays the customisation on the full ISO, asking for its Ignition area and kernel arguments', async () => {
    const download = await service.iso('full-iso', request('418.1'), signal);
    expect(customizations.asked).toEqual([
      { type: 'full-iso', needs: { ignitionAreaBytes: 4096, kernelArguments: true } },
    ]);
    expect(download).toMatchObject({
      file: { size: 1 << 20 },
      filename: `${ID}-discovery.iso`,
      lastModified: MODIFIED,
    });
    const inMemory = download.file.segments.flatMap((segment) => (segment.kind === 'bytes' ? [segment.data] : []));
    expect(inMemory[0]).toBe(customizations.customization.ignitionPayload);
    expect(inMemory[1]?.toString()).toMatch(/^a=b ip=dhcp\n#+$/);
  });

  it('names a disconnected ISO after its architecture', async () => {
    const download = await service.iso('disconnected-iso', request('418.1'), signal);
    expect(download.filename).toBe('agent-ove.x86_64.iso');
  });

  it('refuses content that does not fit the layout with DoesNotFitError', async () => {
    customizations.customization = { ...customizations.customization, kernelArguments: ['x'.repeat(100)] };
    const error = await rejection(service.iso('full-iso', request('418.1'), signal));
    expect(error).toBeInstanceOf(DoesNotFitError);
    expect(error.status).toBe(400);
  });

  it('answers 404 for a minimal ISO that cannot be built, saying why', async () => {
    const error = await rejection(service.iso('minimal-iso', request('418.1'), signal));
    expect(error.status).toBe(404);
    expect(error.message).toBe('no minimal ISO for 418.1 x86_64: IMAGE_SERVICE_BASE_URL is not set');
  });

  it('answers an unknown image with the status of the route: 404 for ISOs, 400 for PXE and boot artifacts', async () => {
    expect((await rejection(service.iso('full-iso', request('999'), signal))).status).toBe(404);
    expect((await rejection(service.pxeInitrd(request('999'), signal))).status).toBe(400);
    expect(() => service.bootArtifact('kernel', '999', 'x86_64')).toThrow(
      expect.objectContaining({
        status: 400,
        message: 'no full-iso image for version "999" and architecture "x86_64"',
      }),
    );
  });

  it('answers 503 with its state and Retry-After for an image that is not ready, on the injected clock', async () => {
    cache.states.set(PENDING, { status: 'failed', reason: 'disk full', attempts: 2, retryAt: new Date(NOW + 42_000) });
    const error = await rejection(service.iso('full-iso', request('419.1'), signal));
    expect(error.status).toBe(503);
    expect(error.message).toBe(`${PENDING.fileName} is not ready: attempt 2 failed: disk full; it is retried in 42 s`);
    expect(error.headers).toEqual({ 'Retry-After': '42' });
  });

  it('builds the PXE initrd from initrd.img, the payload, the ramdisk and nmstate.img, without kernel arguments', async () => {
    customizations.customization = { ...customizations.customization, ramdisk: Buffer.from('ramdisk') };
    const download = await service.pxeInitrd(request('418.1'), signal);
    expect(customizations.asked[0]?.needs).toEqual({
      ignitionAreaBytes: 256 * 1024,
      ramdiskAreaBytes: 1024 * 1024,
      kernelArguments: false,
    });
    expect(download.file.segments).toEqual([
      { kind: 'file', path: isoPath, offset: 100_000, length: 5_000 },
      { kind: 'bytes', data: customizations.customization.ignitionPayload },
      { kind: 'bytes', data: Buffer.from('ramdisk') },
      { kind: 'file', path: '/cache/nmstate.img', offset: 0, length: 700 },
    ]);
    expect(download).toMatchObject({ filename: `${ID}-initrd.img`, lastModified: MODIFIED });
  });

  it('leaves nmstate.img out of a PXE initrd without a ramdisk', async () => {
    const download = await service.pxeInitrd(request('418.1'), signal);
    expect(download.file.segments.map((segment) => segment.kind)).toEqual(['file', 'bytes']);
  });

  it('writes the customised initrd length into the s390x addrsize, whatever arch was asked', async () => {
    const download = await service.addrsize(request('418.1', 'x86_64'), signal);
    const [segment] = download.file.segments;
    const data = segment?.kind === 'bytes' ? segment.data : Buffer.alloc(0);
    expect(data.readBigUInt64BE(0)).toBe(0x02000000n);
    expect(data.readBigUInt64BE(8)).toBe(BigInt(5_000 + customizations.customization.ignitionPayload.length));
    expect(download.filename).toBe(`${ID}-initrd.addrsize`);
  });

  it('serves boot artifacts from the ISO with its mtime, ins-file for s390x only', () => {
    expect(service.bootArtifact('kernel', '418.1', 'x86_64')).toMatchObject({
      file: { size: 3_000 },
      filename: 'vmlinuz',
      lastModified: MTIME,
    });
    expect(() => service.bootArtifact('ins-file', '418.1', 'x86_64')).toThrow('ins-file exists for s390x images only');
    expect(() => service.bootArtifact('rootfs', '418.1', 'x86_64')).toThrow('the 418.1 x86_64 image has no rootfs');
  });
});
