import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { BadRequestException, type ArgumentMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { Response } from 'express';
import { ServiceError } from '../common/service-error.js';
import type { ImageType } from '../config/catalog.js';
import { VirtualFile } from '../iso/index.js';
import { DownloadResponder } from '../delivery/download-responder.js';
import type { Download } from '../delivery/response-plan.js';
import {
  AddrsizeQueryDto,
  BootArtifactQueryDto,
  CredentialQueryDto,
  ImageIdPipe,
  IsoQueryDto,
  PxeQueryDto,
  QUERY_PIPE,
} from './download-query.dto.js';
import { documentHeadRequests } from './download-openapi.js';
import { ImageDownloadService, type ImageRequest } from './image-download.service.js';
import { ArtifactsController, ImagesController } from './images.controller.js';

const ID = '0b8a4d4e-3c3e-4f5a-9d1e-2f6c7a8b9c0d';
const DOWNLOAD: Download = { file: VirtualFile.concat([]), filename: 'x.iso' };

/** Runs `prepare` as the real responder would once a slot is free, and keeps what it made. */
class FakeResponder {
  readonly served: Download[] = [];

  async serve(_response: Response, prepare: (signal: AbortSignal) => Promise<Download> | Download): Promise<void> {
    this.served.push(await prepare(new AbortController().signal));
  }
}

class FakeImages {
  readonly isos: { type: ImageType; request: ImageRequest }[] = [];
  readonly calls: [string, ...unknown[]][] = [];

  iso(type: ImageType, request: ImageRequest): Promise<Download> {
    this.isos.push({ type, request });
    return Promise.resolve(DOWNLOAD);
  }

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
  return { req: { headers } } as unknown as Response;
}

function jwt(payload: object): string {
  return ['{"alg":"none"}', JSON.stringify(payload), 'signature']
    .map((part) => Buffer.from(part).toString('base64url'))
    .join('.');
}

async function query<T extends object>(dto: new () => T, value: Record<string, unknown>): Promise<T> {
  return (await QUERY_PIPE.transform(value, { type: 'query', metatype: dto } as ArgumentMetadata)) as T;
}

let module: TestingModule;
let controller: ImagesController;
let artifacts: ArtifactsController;
let responder: FakeResponder;
let images: FakeImages;

beforeEach(async () => {
  responder = new FakeResponder();
  images = new FakeImages();
  module = await Test.createTestingModule({
    controllers: [ImagesController, ArtifactsController],
    providers: [
      { provide: DownloadResponder, useValue: responder },
      { provide: ImageDownloadService, useValue: images },
    ],
  }).compile();
  controller = module.get(ImagesController);
  artifacts = module.get(ArtifactsController);
});

afterEach(async () => {
  await module.close();
});

describe('GET and HEAD /images/{image_id}', () => {
  it('hands the validated query and the credential to the service, and the download to the responder', async () => {
    const dto = await query(IsoQueryDto, { version: '4.18', type: 'minimal-iso', api_key: 'key', extra: 'ignored' });
    await controller.download(ID, dto, responseWith({ authorization: 'Bearer abc' }));
    await controller.download(
      ID,
      await query(IsoQueryDto, { version: '4.18' }),
      responseWith({ authorization: 'Bearer abc' }),
    );
    expect(images.isos).toEqual([
      {
        type: 'minimal-iso',
        request: { infraEnvId: ID, version: '4.18', arch: 'x86_64', credential: { kind: 'api-key', value: 'key' } },
      },
      {
        type: 'full-iso',
        request: {
          infraEnvId: ID,
          version: '4.18',
          arch: 'x86_64',
          credential: { kind: 'authorization', value: 'Bearer abc' },
        },
      },
    ]);
    expect(responder.served).toEqual([DOWNLOAD, DOWNLOAD]);
  });

  it('accepts only a lowercase UUID as image_id', () => {
    expect(new ImageIdPipe().transform(ID)).toBe(ID);
    for (const id of [ID.toUpperCase(), 'not-a-uuid', `${ID}/x`])
      expect(() => new ImageIdPipe().transform(id)).toThrow(
        new BadRequestException('image_id must be a lowercase UUID'),
      );
  });

  it('validates the query: version required and given once, a known type, unknown parameters dropped', async () => {
    await expect(query(IsoQueryDto, {})).rejects.toThrow('version is required');
    await expect(query(IsoQueryDto, { version: ['a', 'b'] })).rejects.toThrow(
      'version must be given once, as a string',
    );
    await expect(query(IsoQueryDto, { version: '4.18', type: 'tiny-iso' })).rejects.toThrow(
      'type must be one of full-iso, minimal-iso, disconnected-iso',
    );
    const dto = await query(IsoQueryDto, { version: '4.18', extra: 'x' });
    expect(dto).toStrictEqual(Object.assign(new IsoQueryDto(), { version: '4.18', type: 'full-iso', arch: 'x86_64' }));
  });

  it('remembers an accepted query, and hands each request its own copy', async () => {
    const first = await query(IsoQueryDto, { version: '4.17', arch: 'arm64' });
    first.version = 'changed by a request';
    const second = await query(IsoQueryDto, { version: '4.17', arch: 'arm64' });
    expect(second).toEqual(Object.assign(new IsoQueryDto(), { version: '4.17', arch: 'arm64', type: 'full-iso' }));
    expect(second).not.toBe(first);
  });
});

describe('the short URLs', () => {
  const params = { version: '4.18', arch: 'arm64', filename: 'disconnected.iso' };

  it('serve /byid with the query credential', async () => {
    const dto = await query(CredentialQueryDto, { image_token: 'token' });
    await controller.byId({ ...params, image_id: ID }, dto, responseWith());
    await controller.byId({ ...params, image_id: ID }, dto, responseWith());
    expect(images.isos).toEqual(
      Array(2).fill({
        type: 'disconnected-iso',
        request: {
          infraEnvId: ID,
          version: '4.18',
          arch: 'arm64',
          credential: { kind: 'image-token', value: 'token' },
        },
      }),
    );
  });

  it('take the infra-env from the JWT of /bytoken and /byapikey, which is also the credential', async () => {
    const token = jwt({ sub: 'not-a-uuid', infra_env_id: ID });
    const none = new CredentialQueryDto();
    await controller.byToken({ ...params, filename: 'full.iso', token }, none, responseWith());
    await controller.byApiKey({ ...params, filename: 'minimal.iso', api_key: token }, none, responseWith());
    expect(images.isos.map(({ type, request }) => [type, request.infraEnvId, request.credential])).toEqual([
      ['full-iso', ID, { kind: 'image-token', value: token }],
      ['minimal-iso', ID, { kind: 'api-key', value: token }],
    ]);
  });

  it('answer 404 without calling anyone for an unknown file name or a token that names no UUID', () => {
    const none = new CredentialQueryDto();
    expect(() => controller.byId({ ...params, image_id: ID, filename: 'other.iso' }, none, responseWith())).toThrow(
      expect.objectContaining({
        status: 404,
        message: 'unknown file name "other.iso": use full.iso, minimal.iso or disconnected.iso',
      }),
    );
    for (const token of ['not.a.jwt', jwt({ sub: ID.toUpperCase() }), 'x'])
      expect(() => controller.byToken({ ...params, token }, none, responseWith())).toThrow(
        expect.objectContaining({ status: 404 }),
      );
    expect(() => controller.byId({ ...params, image_id: 'abc' }, none, responseWith())).toThrow(
      'the URL does not name an infra-env (its id must be a lowercase UUID)',
    );
    expect(images.isos).toEqual([]);
  });
});

describe('documentHeadRequests', () => {
  it('lists HEAD next to each download GET, which answers it, and leaves other routes alone', () => {
    const download = { summary: 'Download X', operationId: 'X_get', responses: { '200': {}, '206': {} } };
    const document = {
      openapi: '3.0.0',
      info: { title: 't', version: '1' },
      paths: { '/x': { get: download }, '/live': { get: { responses: { '200': {} } } } },
    } as unknown as OpenAPIObject;
    documentHeadRequests(document);
    expect(document.paths['/x']?.head).toEqual({
      ...download,
      summary: 'Download X: the headers only, with the exact Content-Length',
      operationId: 'X_get_head',
    });
    expect(document.paths['/live']?.head).toBeUndefined();
  });
});

describe('the PXE initrd and the s390x addrsize', () => {
  it('hand the request and its credential to the service; the addrsize is always s390x', async () => {
    const pxe = await query(PxeQueryDto, { version: '4.18', arch: 'arm64', image_token: 'token', type: 'ignored' });
    await artifacts.pxeInitrd(ID, pxe, responseWith());
    await artifacts.pxeInitrd(ID, pxe, responseWith());
    const addrsize = await query(AddrsizeQueryDto, { version: '4.18', arch: 'x86_64' });
    await artifacts.addrsize(ID, addrsize, responseWith({ authorization: 'Bearer abc' }));
    await artifacts.addrsize(ID, addrsize, responseWith({ authorization: 'Bearer abc' }));
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
    for (const artifact of ['rootfs', 'kernel']) await artifacts.bootArtifact(artifact, dto, responseWith());
    await artifacts.bootArtifact('ins-file', dto, responseWith());
    expect(images.calls).toEqual([
      ['bootArtifact', 'rootfs', '4.18', 'x86_64'],
      ['bootArtifact', 'kernel', '4.18', 'x86_64'],
      ['bootArtifact', 'ins-file', '4.18', 'x86_64'],
    ]);
  });

  it('answer 404 for an unknown artifact and 405 with Allow for other methods', async () => {
    const dto = await query(BootArtifactQueryDto, { version: '4.18' });
    expect(() => artifacts.bootArtifact('initrd', dto, responseWith())).toThrow(
      expect.objectContaining({ status: 404, message: 'unknown boot artifact "initrd": use rootfs, kernel, ins-file' }),
    );
    expect(() => artifacts.otherMethod()).toThrow(ServiceError);
    expect(() => artifacts.otherMethod()).toThrow(
      expect.objectContaining({
        status: 405,
        message: 'only GET and HEAD are allowed on boot artifacts',
        headers: { Allow: 'GET, HEAD' },
      }),
    );
    expect(images.calls).toEqual([]);
  });
});
