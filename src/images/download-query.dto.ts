import { BadRequestException, Injectable, ValidationPipe, applyDecorators, type PipeTransform } from '@nestjs/common';
import {
  ApiHeader,
  ApiProduces,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  IntersectionType,
  type OpenAPIObject,
} from '@nestjs/swagger';
import { IsDefined, IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { isLowercaseUuid } from '../common/service-error.js';
import { IMAGE_TYPES, type ImageType } from '../config/catalog.js';
import { CPU_ARCHITECTURES } from '../iso/index.js';

class VersionQuery {
  @ApiProperty({ description: 'RHCOS version or OpenShift version of the base image', example: '4.18' })
  @IsDefined({ message: 'version is required' })
  @IsString({ message: 'version must be given once, as a string' })
  @IsNotEmpty({ message: 'version is required' })
  @MaxLength(100, { message: 'version is too long' })
  version!: string;
}

class ArchQuery {
  @ApiPropertyOptional({
    description: 'CPU architecture (aliases amd64, aarch64 accepted)',
    enum: CPU_ARCHITECTURES,
    default: 'x86_64',
  })
  @IsOptional()
  @IsString({ message: 'arch must be given once, as a string' })
  @MaxLength(32, { message: 'arch is too long' })
  arch = 'x86_64';
}

export class CredentialQueryDto {
  @ApiPropertyOptional({ description: 'assisted-service API key, passed on as the api_key query parameter' })
  @IsOptional()
  @IsString({ message: 'api_key must be a string' })
  api_key?: string;

  @ApiPropertyOptional({ description: 'image token, passed on as the Image-Token header' })
  @IsOptional()
  @IsString({ message: 'image_token must be a string' })
  image_token?: string;
}

class TypeQuery {
  @ApiPropertyOptional({ enum: IMAGE_TYPES, default: 'full-iso' })
  @IsOptional()
  @IsIn(IMAGE_TYPES, { message: `type must be one of ${IMAGE_TYPES.join(', ')}` })
  type: ImageType = 'full-iso';
}

export class IsoQueryDto extends IntersectionType(VersionQuery, TypeQuery, ArchQuery, CredentialQueryDto) {}

export class PxeQueryDto extends IntersectionType(VersionQuery, ArchQuery, CredentialQueryDto) {}

/** The architecture of an addrsize is s390x. */
export class AddrsizeQueryDto extends IntersectionType(VersionQuery, CredentialQueryDto) {}

/** Nothing is asked of assisted-service for a boot artifact, so no credentials. */
export class BootArtifactQueryDto extends IntersectionType(VersionQuery, ArchQuery) {}

/** `{image_id}` becomes part of the path of the calls to assisted-service. */
@Injectable()
export class ImageIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isLowercaseUuid(value)) throw new BadRequestException('image_id must be a lowercase UUID');
    return value;
  }
}

/**
 * Unknown parameters are dropped; repeated ones (`?version=a&version=b`) arrive as arrays and fail the string checks.
 * One message per parameter: a missing or repeated value fails every rule, so the first cause is named. A request
 * repeated while its answer stays the same (a BMC's Range reads) does not come here: the fast lane answers it.
 */
export const QUERY_PIPE = new ValidationPipe({
  transform: true,
  whitelist: true,
  forbidNonWhitelisted: false,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => {
    const messages = errors.map(
      (error) =>
        error.constraints?.isDefined ??
        error.constraints?.isString ??
        Object.values(error.constraints ?? {})[0] ??
        `${error.property} is invalid`,
    );
    return new BadRequestException(messages.join('; ') || 'invalid query');
  },
});

const BINARY = { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } };
const ERROR = {
  'application/json': {
    schema: {
      type: 'object',
      properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } },
    },
  },
};

export const ASSISTED_ERRORS: Record<number, string> = {
  401: 'assisted-service refused the credential',
  403: 'assisted-service forbids access to this infra-env',
  502: 'assisted-service could not be reached or answered nonsense',
  504: 'assisted-service did not answer in time',
};

/** The OpenAPI responses of a download route, plus `extra` errors. */
export function ApiDownload(extra: Record<number, string> = {}): MethodDecorator {
  const errors: Record<number, string> = {
    400: 'Bad request: a missing or malformed parameter, or content that does not fit the image',
    404: 'No such image, version, architecture or infra-env',
    416: 'The Range cannot be satisfied',
    503: 'The requested image is not ready yet: the message gives its state, Retry-After when to ask again',
    ...extra,
  };
  return applyDecorators(
    ApiProduces('application/octet-stream'),
    ApiHeader({ name: 'Range', required: false, description: 'A single byte range, e.g. bytes=0-65535' }),
    ApiHeader({
      name: 'If-Modified-Since',
      required: false,
      description: 'Answer 304 when not modified since this date',
    }),
    ApiResponse({ status: 200, description: 'The whole file', content: BINARY }),
    ApiResponse({ status: 206, description: 'The requested byte range', content: BINARY }),
    ApiResponse({ status: 304, description: 'Not modified since If-Modified-Since' }),
    ...Object.entries(errors).map(([status, description]) =>
      ApiResponse({ status: Number(status), description, content: ERROR }),
    ),
  );
}

/** Express answers HEAD with the GET route of the same path; this lists HEAD next to each download in the document. */
export function documentHeadRequests(document: OpenAPIObject): OpenAPIObject {
  for (const path of Object.values(document.paths)) {
    const get = path.get;
    if (get?.responses['206'] === undefined) continue;
    const summary = `${get.summary ?? 'Download'}: the headers only, with the exact Content-Length`;
    path.head = { ...get, summary, operationId: `${get.operationId ?? ''}_head` };
  }
  return document;
}
