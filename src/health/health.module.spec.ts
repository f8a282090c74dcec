import 'reflect-metadata';
import { HttpException } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from '@jest/globals';
import { Clock } from '../common/clock.js';
import { ImageCacheService } from '../versions/image-cache.service.js';
import type { FailedImageState, ImageState } from '../versions/image-state.js';
import type { CatalogImage } from '../versions/os-image-catalog.js';
import { HealthController } from './health.module.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

interface FakeImage {
  readonly state: ImageState;
  readonly settled: boolean;
  readonly lastFailure?: FailedImageState;
}

/** The three questions readiness asks the cache, answered from a fixed table of images by file name. */
class FakeImageCache implements Pick<ImageCacheService, 'snapshot' | 'hasSettled' | 'lastFailure'> {
  constructor(private readonly images: Readonly<Record<string, FakeImage>>) {}

  snapshot(): { image: CatalogImage; state: ImageState }[] {
    return Object.entries(this.images).map(([fileName, { state }]) => ({ image: catalogImage(fileName), state }));
  }

  hasSettled(image: CatalogImage): boolean {
    return this.images[image.fileName]?.settled ?? false;
  }

  lastFailure(image: CatalogImage): FailedImageState | undefined {
    return this.images[image.fileName]?.lastFailure;
  }
}

function catalogImage(fileName: string): CatalogImage {
  const entry = {
    openshiftVersion: '4.18',
    cpuArchitecture: 'x86_64',
    url: 'https://mirror/x.iso',
    version: '418.1',
  } as const;
  return { key: fileName, fileName, entry: { ...entry, type: 'full-iso' } as const, openshiftVersions: ['4.18'] };
}

async function controllerWith(images: Readonly<Record<string, FakeImage>>): Promise<HealthController> {
  const module = await Test.createTestingModule({
    imports: [TerminusModule.forRoot({ logger: false })],
    controllers: [HealthController],
    providers: [
      { provide: ImageCacheService, useValue: new FakeImageCache(images) },
      { provide: Clock, useValue: { now: () => NOW } },
    ],
  }).compile();
  return module.get(HealthController);
}

/** What the client gets: the status and the JSON body, whether Terminus returned it or threw it. */
async function answer(controller: HealthController): Promise<{ status: number; body: unknown }> {
  try {
    return { status: 200, body: await controller.ready() };
  } catch (error) {
    if (!(error instanceof HttpException)) throw error;
    return { status: error.getStatus(), body: error.getResponse() };
  }
}

const READY: FakeImage = { state: { status: 'ready', sizeBytes: 10, mtime: new Date(NOW) }, settled: true };
const FAILURE: FailedImageState = {
  status: 'failed',
  reason: 'HTTP 404 from http://mirror/x.iso',
  attempts: 2,
  retryAt: new Date(NOW + 4_500),
};

describe('HealthController', () => {
  it('answers /live with ok', async () => {
    expect((await controllerWith({})).live()).toEqual({ status: 'ok' });
  });

  it('is 200 once every image had its first attempt and one is ready, listing the failed one with its retry', async () => {
    const controller = await controllerWith({
      'a.iso': READY,
      'b.iso': { state: FAILURE, settled: true, lastFailure: FAILURE },
    });
    expect(await answer(controller)).toEqual({
      status: 200,
      body: {
        status: 'ok',
        info: { images: { status: 'up', 'a.iso': { status: 'ready', sizeBytes: 10 }, 'b.iso': expect.anything() } },
        error: {},
        details: {
          images: {
            status: 'up',
            'a.iso': { status: 'ready', sizeBytes: 10 },
            'b.iso': {
              status: 'failed',
              reason: FAILURE.reason,
              attempts: 2,
              retryAt: '2026-01-01T00:00:04.500Z',
              retryInSeconds: 5,
            },
          },
        },
      },
    });
  });

  it('is 503 while an image is on its first attempt, even with another one ready', async () => {
    const downloading: ImageState = { status: 'downloading', bytesDone: 5, bytesTotal: 10 };
    const controller = await controllerWith({ 'a.iso': READY, 'b.iso': { state: downloading, settled: false } });
    expect(await answer(controller)).toMatchObject({
      status: 503,
      body: {
        status: 'error',
        details: { images: { status: 'down', 'b.iso': { status: 'downloading', percent: 50, firstAttempt: true } } },
      },
    });
  });

  it('is 503 when no image is ready, naming the failure a retry follows', async () => {
    const controller = await controllerWith({
      'a.iso': { state: FAILURE, settled: true, lastFailure: FAILURE },
      'b.iso': { state: { status: 'verifying' }, settled: true, lastFailure: FAILURE },
    });
    expect(await answer(controller)).toMatchObject({
      status: 503,
      body: {
        error: {
          images: {
            status: 'down',
            'a.iso': { status: 'failed', retryInSeconds: 5 },
            'b.iso': { status: 'verifying', lastFailure: { reason: FAILURE.reason, attempts: 2 } },
          },
        },
      },
    });
  });
});
