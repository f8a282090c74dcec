import { Controller, Get, Inject, NotFoundException, Param, Query, Res, applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { isLowercaseUuid } from '../common/service-error.js';
import type { ImageType } from '../config/catalog.js';
import { DownloadResponder } from './download-responder.js';
import {
  ASSISTED_ERRORS,
  ApiDownload,
  CredentialQueryDto,
  ImageIdPipe,
  IsoQueryDto,
  QUERY_PIPE,
  credentialOf,
} from './download-query.dto.js';
import { ImageDownloadService } from './image-download.service.js';

/** The path parameters of a short URL: the infra-env is named by its id, or by the JWT that is the credential. */
interface ShortUrlParams {
  readonly image_id?: string;
  readonly token?: string;
  readonly api_key?: string;
  readonly version: string;
  readonly arch: string;
  readonly filename: string;
}

const FILENAME_TYPES: Readonly<Record<string, ImageType>> = {
  'full.iso': 'full-iso',
  'minimal.iso': 'minimal-iso',
  'disconnected.iso': 'disconnected-iso',
};

const ID_PARAM = { name: 'image_id', description: 'infra-env id (lowercase UUID)', format: 'uuid' };
const SHORT_URL_IDS = {
  image_id: ID_PARAM,
  token: { name: 'token', description: 'image token (JWT)' },
  api_key: { name: 'api_key', description: 'API key (JWT)' },
};

function ShortUrl(summary: string, id: keyof typeof SHORT_URL_IDS): MethodDecorator {
  return applyDecorators(
    ApiOperation({ summary }),
    ApiParam(SHORT_URL_IDS[id]),
    ApiParam({ name: 'version', description: 'RHCOS or OpenShift version', example: '4.18' }),
    ApiParam({ name: 'arch', description: 'CPU architecture', example: 'x86_64' }),
    ApiParam({ name: 'filename', enum: Object.keys(FILENAME_TYPES) }),
    ApiDownload(ASSISTED_ERRORS),
  );
}

/** The discovery ISO of an infra-env, at its long URL and its short ones. */
@ApiTags('images')
@Controller()
export class ImagesController {
  constructor(
    @Inject(DownloadResponder) private readonly responder: DownloadResponder,
    @Inject(ImageDownloadService) private readonly images: ImageDownloadService,
  ) {}

  @Get('images/:image_id')
  @ApiOperation({ summary: 'Download the discovery ISO of an infra-env' })
  @ApiParam(ID_PARAM)
  @ApiDownload({ 501: 'The image type is not available', ...ASSISTED_ERRORS })
  download(
    @Param('image_id', ImageIdPipe) id: string,
    @Query(QUERY_PIPE) query: IsoQueryDto,
    @Res() response: Response,
  ): Promise<void> {
    const request = {
      infraEnvId: id,
      version: query.version,
      arch: query.arch,
      credential: credentialOf(query, response.req),
    };
    return this.responder.serve(response, (signal) => this.images.iso(query.type, request, signal));
  }

  @Get('byid/:image_id/:version/:arch/:filename')
  @ShortUrl('Download an image by infra-env id', 'image_id')
  byId(@Param() params: ShortUrlParams, @Query(QUERY_PIPE) query: CredentialQueryDto, @Res() response: Response) {
    return this.shortUrl(params, query, response);
  }

  @Get('bytoken/:token/:version/:arch/:filename')
  @ShortUrl('Download an image with an image token (a JWT naming the infra-env)', 'token')
  byToken(@Param() params: ShortUrlParams, @Query(QUERY_PIPE) query: CredentialQueryDto, @Res() response: Response) {
    return this.shortUrl(params, query, response);
  }

  @Get('byapikey/:api_key/:version/:arch/:filename')
  @ShortUrl('Download an image with an API key (a JWT naming the infra-env)', 'api_key')
  byApiKey(@Param() params: ShortUrlParams, @Query(QUERY_PIPE) query: CredentialQueryDto, @Res() response: Response) {
    return this.shortUrl(params, query, response);
  }

  /** An id taken from a token is user input: unless it is a UUID the answer is 404 and assisted-service is not called. */
  private shortUrl(params: ShortUrlParams, query: CredentialQueryDto, response: Response): Promise<void> {
    const type = Object.hasOwn(FILENAME_TYPES, params.filename) ? FILENAME_TYPES[params.filename] : undefined;
    if (type === undefined)
      throw new NotFoundException(
        `unknown file name "${params.filename}": use full.iso, minimal.iso or disconnected.iso`,
      );
    const infraEnvId = params.image_id ?? infraEnvIdFromToken(params.token ?? params.api_key ?? '');
    if (!isLowercaseUuid(infraEnvId))
      throw new NotFoundException('the URL does not name an infra-env (its id must be a lowercase UUID)');
    const credential = credentialOf(query, response.req, { pathApiKey: params.api_key, pathToken: params.token });
    const request = { infraEnvId, version: params.version, arch: params.arch, credential };
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
