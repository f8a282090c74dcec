import { All, Controller, Get, Inject, Module, Param, Query, Res, applyDecorators } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { resolveCredential } from '../assisted/credentials.js';
import { Clock } from '../common/clock.js';
import { ServiceError, isLowercaseUuid } from '../common/service-error.js';
import type { ImageType } from '../config/catalog.js';
import { DeliveryModule, DownloadResponder } from '../delivery/download-responder.js';
import { ASSISTED_ERRORS, ApiDownload } from './download-openapi.js';
import {
  AddrsizeQueryDto,
  BootArtifactQueryDto,
  CredentialQueryDto,
  ImageIdPipe,
  IsoQueryDto,
  PxeQueryDto,
  QUERY_PIPE,
} from './download-query.dto.js';
import { BOOT_ARTIFACTS, ImageDownloadService, type BootArtifact } from './image-download.service.js';

/** The path parameters of a short URL: the infra-env is named by its id, or by the JWT that is the credential. */
type ShortUrlParams = Readonly<Record<'version' | 'arch' | 'filename', string>> &
  Readonly<Partial<Record<'image_id' | 'token' | 'api_key', string>>>;

const FILENAME_TYPES: Readonly<Record<string, ImageType>> = {
  'full.iso': 'full-iso',
  'minimal.iso': 'minimal-iso',
  'disconnected.iso': 'disconnected-iso',
};

const ID_PARAM = { name: 'image_id', description: 'infra-env id (lowercase UUID)', format: 'uuid' };
const ImageId = (): ParameterDecorator => Param('image_id', ImageIdPipe);
const SHORT_URL_IDS = {
  byid: ID_PARAM,
  bytoken: { name: 'token', description: 'image token (JWT)' },
  byapikey: { name: 'api_key', description: 'API key (JWT)' },
};

function ShortUrl(kind: keyof typeof SHORT_URL_IDS, summary: string): MethodDecorator {
  return applyDecorators(
    Get(`${kind}/:${SHORT_URL_IDS[kind].name}/:version/:arch/:filename`),
    ApiOperation({ summary }),
    ApiParam(SHORT_URL_IDS[kind]),
    ApiParam({ name: 'version', description: 'RHCOS or OpenShift version', example: '4.18' }),
    ApiParam({ name: 'arch', description: 'CPU architecture', example: 'x86_64' }),
    ApiParam({ name: 'filename', enum: Object.keys(FILENAME_TYPES) }),
    ApiDownload(ASSISTED_ERRORS),
  );
}

abstract class DownloadRoutes {
  constructor(
    @Inject(DownloadResponder) protected readonly responder: DownloadResponder,
    @Inject(ImageDownloadService) protected readonly images: ImageDownloadService,
  ) {}
}

/** The discovery ISO of an infra-env, at its long URL and its short ones. */
@ApiTags('images')
@Controller()
export class ImagesController extends DownloadRoutes {
  @Get('images/:image_id')
  @ApiOperation({ summary: 'Download the discovery ISO of an infra-env' })
  @ApiParam(ID_PARAM)
  @ApiDownload({ 501: 'The image type is not available', ...ASSISTED_ERRORS })
  download(@ImageId() id: string, @Query(QUERY_PIPE) query: IsoQueryDto, @Res() response: Response): Promise<void> {
    const credential = resolveCredential(query, response.req);
    const request = { infraEnvId: id, version: query.version, arch: query.arch, credential };
    return this.responder.serve(response, (signal) => this.images.iso(query.type, request, signal));
  }

  @ShortUrl('byid', 'Download an image by infra-env id')
  byId(@Param() params: ShortUrlParams, @Query(QUERY_PIPE) query: CredentialQueryDto, @Res() response: Response) {
    return this.shortUrl(params, query, response);
  }

  @ShortUrl('bytoken', 'Download an image with an image token (a JWT naming the infra-env)')
  byToken(@Param() params: ShortUrlParams, @Query(QUERY_PIPE) query: CredentialQueryDto, @Res() response: Response) {
    return this.shortUrl(params, query, response);
  }

  @ShortUrl('byapikey', 'Download an image with an API key (a JWT naming the infra-env)')
  byApiKey(@Param() params: ShortUrlParams, @Query(QUERY_PIPE) query: CredentialQueryDto, @Res() response: Response) {
    return this.shortUrl(params, query, response);
  }

  /** An id taken from a token is user input: unless it is a UUID the answer is 404 and assisted-service is not called. */
  private shortUrl(params: ShortUrlParams, query: CredentialQueryDto, response: Response): Promise<void> {
    const { filename, version, arch } = params;
    const type = Object.hasOwn(FILENAME_TYPES, filename) ? FILENAME_TYPES[filename] : undefined;
    if (type === undefined)
      throw new ServiceError(404, `unknown file name "${filename}": use full.iso, minimal.iso or disconnected.iso`);
    const infraEnvId = params.image_id ?? infraEnvIdFromToken(params.token ?? params.api_key ?? '');
    if (!isLowercaseUuid(infraEnvId))
      throw new ServiceError(404, 'the URL does not name an infra-env (its id must be a lowercase UUID)');
    const credential = resolveCredential(query, response.req, params);
    const request = { infraEnvId, version, arch, credential };
    return this.responder.serve(response, (signal) => this.images.iso(type, request, signal));
  }
}

/**
 * The infra-env a JWT names: a UUID `sub`, else a UUID `infra_env_id`. The signature is not checked here (assisted-
 * service checks the token when it is passed on), so the id is user input.
 */
function infraEnvIdFromToken(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined || parts[1].length > 16_384) return undefined;
  let payload: { sub?: unknown; infra_env_id?: unknown } | null;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as typeof payload;
  } catch {
    return undefined;
  }
  return [payload?.sub, payload?.infra_env_id].find(isLowercaseUuid);
}

const PxeRoute = (summary: string): MethodDecorator =>
  applyDecorators(ApiTags('pxe'), ApiOperation({ summary }), ApiParam(ID_PARAM), ApiDownload(ASSISTED_ERRORS));

/** What PXE firmware and BMCs fetch besides ISOs: the customised PXE initrd, its s390x addrsize, and boot files. */
@Controller()
export class ArtifactsController extends DownloadRoutes {
  @Get('images/:image_id/pxe-initrd')
  @PxeRoute('The PXE initrd of an infra-env: initrd.img, Ignition, ramdisk, nmstate')
  pxeInitrd(@ImageId() id: string, @Query(QUERY_PIPE) query: PxeQueryDto, @Res() response: Response): Promise<void> {
    const credential = resolveCredential(query, response.req);
    const request = { infraEnvId: id, version: query.version, arch: query.arch, credential };
    return this.responder.serve(response, (signal) => this.images.pxeInitrd(request, signal));
  }

  @Get('images/:image_id/s390x-initrd-addrsize')
  @PxeRoute('The s390x initrd.addrsize for the customised PXE initrd')
  addrsize(
    @ImageId() id: string,
    @Query(QUERY_PIPE) query: AddrsizeQueryDto,
    @Res() response: Response,
  ): Promise<void> {
    const credential = resolveCredential(query, response.req);
    const request = { infraEnvId: id, version: query.version, arch: 's390x', credential };
    return this.responder.serve(response, (signal) => this.images.addrsize(request, signal));
  }

  @Get('boot-artifacts/:artifact')
  @ApiTags('boot-artifacts')
  @ApiOperation({ summary: 'A boot artifact of the cached ISO: rootfs, kernel or ins-file' })
  @ApiParam({ name: 'artifact', enum: BOOT_ARTIFACTS, description: 'rootfs.img, the kernel, or (s390x) generic.ins' })
  @ApiDownload({ 405: 'Only GET and HEAD are allowed' })
  bootArtifact(
    @Param('artifact') artifact: string,
    @Query(QUERY_PIPE) query: BootArtifactQueryDto,
    @Res() response: Response,
  ): Promise<void> {
    if (!(BOOT_ARTIFACTS as readonly string[]).includes(artifact))
      throw new ServiceError(404, `unknown boot artifact "${artifact}": use ${BOOT_ARTIFACTS.join(', ')}`);
    return this.responder.serve(response, () =>
      this.images.bootArtifact(artifact as BootArtifact, query.version, query.arch),
    );
  }

  /** Registered after GET (which answers HEAD too), so it catches every other method. */
  @All('boot-artifacts/:artifact')
  @ApiExcludeEndpoint()
  otherMethod(): never {
    throw new ServiceError(405, 'only GET and HEAD are allowed on boot artifacts', { Allow: 'GET, HEAD' });
  }
}

@Module({
  imports: [DeliveryModule],
  controllers: [ImagesController, ArtifactsController],
  providers: [ImageDownloadService, Clock],
})
export class ImagesModule {}
