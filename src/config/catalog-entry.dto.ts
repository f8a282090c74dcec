import { IsDefined, IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { BASE_IMAGE_TYPES } from '../versions/os-image.js';
import { IsHttpUrl, IsImageSourceUrl } from './env-validators.js';

/** Versions end up in cache file names, so they are restricted to characters that cannot form a path. */
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;
const VERSION_MESSAGE = 'must be 1-100 characters of letters, digits, ".", "_", "+" and "-"';
const ARCHITECTURE_NAMES = ['x86_64', 'amd64', 'arm64', 'aarch64', 'ppc64le', 's390x'];

/** One entry of the array form of `OS_IMAGES` / `RHCOS_VERSIONS` (reference §3). */
export class OsImageEntryDto {
  @IsDefined({ message: 'is required' })
  @IsString({ message: 'must be a string' })
  @Matches(VERSION_PATTERN, { message: VERSION_MESSAGE })
  openshift_version!: string;

  @IsDefined({ message: 'is required' })
  @IsString({ message: 'must be a string' })
  @IsIn(ARCHITECTURE_NAMES, { message: `must be one of ${ARCHITECTURE_NAMES.join(', ')}` })
  cpu_architecture!: string;

  @IsDefined({ message: 'is required' })
  @IsString({ message: 'must be a string' })
  @IsImageSourceUrl()
  url!: string;

  @IsDefined({ message: 'is required' })
  @IsString({ message: 'must be a string' })
  @Matches(VERSION_PATTERN, { message: VERSION_MESSAGE })
  version!: string;

  @IsOptional()
  @IsIn(BASE_IMAGE_TYPES, { message: `must be one of ${BASE_IMAGE_TYPES.join(', ')}` })
  type?: string;

  @IsOptional()
  @IsHttpUrl()
  rootfs_url?: string;

  @IsOptional()
  @IsString()
  @Matches(/^[0-9a-fA-F]{64}$/, { message: 'must be 64 hexadecimal characters' })
  sha256?: string;
}

/** One value of the seed's map form of `RHCOS_VERSIONS`: `{"4.6": {"iso_url": …, "rootfs_url": …}}`. */
export class SeedVersionDto {
  @IsDefined({ message: 'is required' })
  @IsString({ message: 'must be a string' })
  @IsImageSourceUrl()
  iso_url!: string;

  @IsOptional()
  @IsHttpUrl()
  rootfs_url?: string;
}

export const SEED_KEY_PATTERN = VERSION_PATTERN;
export const SEED_KEY_MESSAGE = VERSION_MESSAGE;
