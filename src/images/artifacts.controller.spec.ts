import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { HttpException, NotFoundException, type ArgumentMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Response } from 'express';
import { VirtualFile } from '../iso/index.js';
import { ArtifactsController } from './artifacts.controller.js';
import { DownloadResponder, type Download } from './download-responder.js';
import { AddrsizeQueryDto, BootArtifactQueryDto, PxeQueryDto, QUERY_PIPE } from './download-query.dto.js';
import { ImageDownloadService, type ImageRequest } from './image-download.service.js';

const ID = '0b8a4d4e-3c3e-4f5a-9d1e-2f6c7a8b9c0d';
const DOWNLOAD: Download = { file: VirtualFile.concat([]), size: 0, filename: 'x' };

/** Runs `prepare` as the real responder would once a slot is free, and keeps what it made. */
class FakeResponder {
  readonly served: Download[] = [];

  async serve(_response: Response, prepare: (signal: AbortSignal) => Promise<Download> | Download): Promise<void> {
    this.served.push(await prepare(new AbortController().signal));
  }
}

class FakeImages {
  readonly calls: [string, ...unknown[]][] = [];

  pxeInitrd(request: ImageRequest): Promise<Download> {
    this.calls.push(['pxeInitrd', request]);
    return Promise.resolve(DOWNLOAD);
  }

  addrsize(request: ImageRequest): Promise<Download> {
    this.calls.push(['addrsize', request]);
    return Promise.resolve(DOWNLOAD);
  }

  bootArtifact(artifact: string, version: string, arch: string): Download {
    this.calls.push(['bootArtifact', artifact, version, arch]);
    return DOWNLOAD;
  }
}

function responseWith(headers: Record<string, string> = {}): Response {
  const response = { req: { headers }, headers: {} as Record<string, string> };
  return Object.assign(response, {
    set: (name: string, value: string) => Object.assign(response.headers, { [name]: value }),
  }) as unknown as Response;
}

async function query<T extends object>(dto: new () => T, value: Record<string, unknown>): Promise<T> {
  return (await QUERY_PIPE.transform(value, { type: 'query', metatype: dto } as ArgumentMetadata)) as T;
}

let module: TestingModule;
let controller: ArtifactsController;
let responder: FakeResponder;
let images: FakeImages;

beforeEach(async () => {
  responder = new FakeResponder();
  images = new FakeImages();
  module = await Test.createTestingModule({
    controllers: [ArtifactsController],
    providers: [
      { provide: DownloadResponder, useValue: responder },
      { provide: ImageDownloadService, useValue: images },
    ],
  }).compile();
  controller = module.get(ArtifactsController);
});

afterEach(async () => {
  await module.close();
});

describe('the PXE initrd and the s390x addrsize', () => {
  it('hand the request and its credential to the service; the addrsize is always s390x', async () => {
    const pxe = await query(PxeQueryDto, { version: '4.18', arch: 'arm64', image_token: 'token', type: 'ignored' });
    await controller.pxeInitrd(ID, pxe, responseWith());
    await controller.pxeInitrd(ID, pxe, responseWith());
    const addrsize = await query(AddrsizeQueryDto, { version: '4.18', arch: 'x86_64' });
    await controller.addrsize(ID, addrsize, responseWith({ authorization: 'Bearer abc' }));
    await controller.addrsize(ID, addrsize, responseWith({ authorization: 'Bearer abc' }));
    const pxeRequest = {
      infraEnvId: ID,
      version: '4.18',
      arch: 'arm64',
      credential: { kind: 'image-token', value: 'token' },
    };
    const addrsizeRequest = {
      infraEnvId: ID,
      version: '4.18',
      arch: 's390x',
      credential: { kind: 'authorization', value: 'Bearer abc' },
    };
    expect(images.calls).toEqual([
      ['pxeInitrd', pxeRequest],
      ['pxeInitrd', pxeRequest],
      ['addrsize', addrsizeRequest],
      ['addrsize', addrsizeRequest],
    ]);
    expect(responder.served).toHaveLength(4);
  });

  it('require a version', async () => {
    await expect(query(PxeQueryDto, { arch: 'x86_64' })).rejects.toThrow('version is required');
    await expect(query(AddrsizeQueryDto, {})).rejects.toThrow('version is required');
  });
});

describe('the boot artifacts', () => {
  it('serve rootfs, kernel and ins-file with no credential', async () => {
    const dto = await query(BootArtifactQueryDto, { version: '4.18', api_key: 'dropped' });
    expect(dto).toStrictEqual(Object.assign(new BootArtifactQueryDto(), { version: '4.18', arch: 'x86_64' }));
    for (const artifact of ['rootfs', 'kernel']) await controller.bootArtifact(artifact, dto, responseWith());
    await controller.bootArtifact('ins-file', dto, responseWith());
    expect(images.calls).toEqual([
      ['bootArtifact', 'rootfs', '4.18', 'x86_64'],
      ['bootArtifact', 'kernel', '4.18', 'x86_64'],
      ['bootArtifact', 'ins-file', '4.18', 'x86_64'],
    ]);
  });

  it('answer 404 for an unknown artifact and 405 with Allow for other methods', async () => {
    const dto = await query(BootArtifactQueryDto, { version: '4.18' });
    expect(() => controller.bootArtifact('initrd', dto, responseWith())).toThrow(
      new NotFoundException('unknown boot artifact "initrd": use rootfs, kernel, ins-file'),
    );
    const response = responseWith();
    expect(() => controller.otherMethod(response)).toThrow(HttpException);
    expect(() => controller.otherMethod(response)).toThrow('only GET and HEAD are allowed on boot artifacts');
    expect((response as unknown as { headers: Record<string, string> }).headers).toEqual({ Allow: 'GET, HEAD' });
    expect(images.calls).toEqual([]);
  });
});
