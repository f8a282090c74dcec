import { BadRequestException, Injectable, ValidationPipe, type PipeTransform } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
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
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => {
    const messages = errors.map(({ property, constraints = {} }) => {
      const { isDefined, isString } = constraints;
      return isDefined ?? isString ?? Object.values(constraints)[0] ?? `${property} is invalid`;
    });
    return new BadRequestException(messages.join('; ') || 'invalid query');
  },
});
