import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { IsDefined, IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { IMAGE_TYPES, type ImageType } from './image-type.js';

const ARCHITECTURES = ['x86_64', 'amd64', 'arm64', 'aarch64', 'ppc64le', 's390x'];

/** The image's version, required on every download route. */
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
    enum: ARCHITECTURES,
    default: 'x86_64',
  })
  @IsOptional()
  @IsString({ message: 'arch must be given once, as a string' })
  @MaxLength(32, { message: 'arch is too long' })
  arch = 'x86_64';
}

/** Credentials passed through to assisted-service (reference §8). */
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

/** Query of `GET /images/{image_id}` (reference §7.1). Unknown parameters are ignored. */
export class DownloadQueryDto extends IntersectionType(VersionQuery, TypeQuery, ArchQuery, CredentialQueryDto) {}

/** Query of `GET /images/{image_id}/pxe-initrd` (reference §7.3). */
export class PxeQueryDto extends IntersectionType(VersionQuery, ArchQuery, CredentialQueryDto) {}

/** Query of `GET /images/{image_id}/s390x-initrd-addrsize` (reference §7.4): the architecture is s390x. */
export class AddrsizeQueryDto extends IntersectionType(VersionQuery, CredentialQueryDto) {}

/** Query of `GET /boot-artifacts/{artifact}` (reference §7.5); no credentials: nothing is asked of assisted-service. */
export class BootArtifactQueryDto extends IntersectionType(VersionQuery, ArchQuery) {}
