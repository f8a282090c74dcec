import { Controller, Get, Head, NotFoundException, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { resolveCredential, type CredentialSources } from '../assisted/credentials.js';
import { isLowercaseUuid } from '../common/uuid.js';
import { ASSISTED_ERRORS, ApiDownloadResponses } from './api-docs.js';
import { DownloadLifecycle } from './download-lifecycle.js';
import { CredentialQueryDto } from './download-query.dto.js';
import { ImageDownloadService } from './image-download.service.js';
import { queryValidationPipe } from './query-validation.pipe.js';
import { imageTypeOfFilename, infraEnvIdFromToken } from './short-url.js';

interface ShortUrlParams {
  readonly version: string;
  readonly arch: string;
  readonly filename: string;
}

const COMMON_PARAMS = [
  ApiParam({ name: 'version', description: 'RHCOS or OpenShift version', example: '4.18' }),
  ApiParam({ name: 'arch', description: 'CPU architecture', example: 'x86_64' }),
  ApiParam({ name: 'filename', enum: ['full.iso', 'minimal.iso', 'disconnected.iso'] }),
];

function documented(summary: string, first: { name: string; description: string }): MethodDecorator {
  return (target, key, descriptor) => {
    for (const decorate of [
      ApiOperation({ summary }),
      ApiParam(first),
      ...COMMON_PARAMS,
      ApiDownloadResponses(ASSISTED_ERRORS),
    ]) {
      decorate(target, key, descriptor);
    }
  };
}

/**
 * The short URLs of reference §7.2. An id taken from a token is user input: unless it is a UUID the answer is 404
 * and assisted-service is never called.
 */
@ApiTags('images')
@Controller()
export class ShortUrlsController {
  constructor(
    private readonly lifecycle: DownloadLifecycle,
    private readonly images: ImageDownloadService,
  ) {}

  @Get('byid/:image_id/:version/:arch/:filename')
  @documented('Download an image by infra-env id', { name: 'image_id', description: 'infra-env id (lowercase UUID)' })
  byId(
    @Param('image_id') imageId: string,
    @Param() params: ShortUrlParams,
    @Query(queryValidationPipe) query: CredentialQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.serve(
      imageId,
      params,
      { queryApiKey: query.api_key, queryImageToken: query.image_token },
      request,
      response,
    );
  }

  @Head('byid/:image_id/:version/:arch/:filename')
  @documented('Headers of an image by infra-env id', { name: 'image_id', description: 'infra-env id (lowercase UUID)' })
  headById(
    @Param('image_id') imageId: string,
    @Param() params: ShortUrlParams,
    @Query(queryValidationPipe) query: CredentialQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.byId(imageId, params, query, request, response);
  }

  @Get('bytoken/:token/:version/:arch/:filename')
  @documented('Download an image with an image token (a JWT naming the infra-env)', {
    name: 'token',
    description: 'image token (JWT)',
  })
  byToken(
    @Param('token') token: string,
    @Param() params: ShortUrlParams,
    @Query(queryValidationPipe) query: CredentialQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.serve(
      infraEnvIdFromToken(token),
      params,
      { pathToken: token, queryApiKey: query.api_key, queryImageToken: query.image_token },
      request,
      response,
    );
  }

  @Head('bytoken/:token/:version/:arch/:filename')
  @documented('Headers of an image with an image token', { name: 'token', description: 'image token (JWT)' })
  headByToken(
    @Param('token') token: string,
    @Param() params: ShortUrlParams,
    @Query(queryValidationPipe) query: CredentialQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.byToken(token, params, query, request, response);
  }

  @Get('byapikey/:api_key/:version/:arch/:filename')
  @documented('Download an image with an API key (a JWT naming the infra-env)', {
    name: 'api_key',
    description: 'API key (JWT)',
  })
  byApiKey(
    @Param('api_key') apiKey: string,
    @Param() params: ShortUrlParams,
    @Query(queryValidationPipe) query: CredentialQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.serve(
      infraEnvIdFromToken(apiKey),
      params,
      { pathApiKey: apiKey, queryApiKey: query.api_key, queryImageToken: query.image_token },
      request,
      response,
    );
  }

  @Head('byapikey/:api_key/:version/:arch/:filename')
  @documented('Headers of an image with an API key', { name: 'api_key', description: 'API key (JWT)' })
  headByApiKey(
    @Param('api_key') apiKey: string,
    @Param() params: ShortUrlParams,
    @Query(queryValidationPipe) query: CredentialQueryDto,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.byApiKey(apiKey, params, query, request, response);
  }

  private serve(
    infraEnvId: string | undefined,
    params: ShortUrlParams,
    sources: CredentialSources,
    request: Request,
    response: Response,
  ): Promise<void> {
    const type = imageTypeOfFilename(params.filename);
    if (type === undefined)
      throw new NotFoundException(
        `unknown file name "${params.filename}": use full.iso, minimal.iso or disconnected.iso`,
      );
    if (!isLowercaseUuid(infraEnvId))
      throw new NotFoundException('the URL does not name an infra-env (its id must be a lowercase UUID)');
    const credential = resolveCredential({ ...sources, authorizationHeader: request.headers.authorization });
    return this.lifecycle.run(request, response, (signal) =>
      this.images.prepare({ infraEnvId, type, version: params.version, arch: params.arch, credential }, signal),
    );
  }
}
