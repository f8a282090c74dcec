import { applyDecorators } from '@nestjs/common';
import { Transform, plainToInstance } from 'class-transformer';
import { IsDefined, IsIn, IsOptional, IsString, Matches, validateSync } from 'class-validator';
import { CPU_ARCHITECTURES, normalizeArchitecture, type CpuArchitecture } from '../iso/index.js';
import { ConfigError, IsHttpUrl, IsImageSourceUrl } from './environment.js';

/** Kinds of base image the catalog can list; `minimal-iso` is derived from `full-iso` at sync. */
export const BASE_IMAGE_TYPES = ['full-iso', 'disconnected-iso'] as const;
export type BaseImageType = (typeof BASE_IMAGE_TYPES)[number];
export const IMAGE_TYPES = ['full-iso', 'minimal-iso', 'disconnected-iso'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

export interface OsImageEntry {
  readonly openshiftVersion: string;
  readonly cpuArchitecture: CpuArchitecture;
  readonly url: string;
  /** The RHCOS version, e.g. `414.92.202310170514-0`. */
  readonly version: string;
  readonly type: BaseImageType;
  readonly rootfsUrl?: string;
  /** Lowercase hex SHA-256 of the ISO, verified after download when present. */
  readonly sha256?: string;
}
export type CatalogSource = 'OS_IMAGES' | 'RHCOS_VERSIONS' | 'built-in default';

const MIRROR = 'https://mirror.openshift.com/pub/openshift-v4';

/**
 * Without `OS_IMAGES` and `RHCOS_VERSIONS`: the original service's defaults, so a bare start behaves as its operators
 * expect. Columns: OpenShift version, architecture, RHCOS version, mirror folder, file in `dependencies/rhcos/`.
 */
export const DEFAULT_CATALOG: readonly OsImageEntry[] = (
  [
    ['4.8', 'x86_64', '48.84.202109241901-0', 'x86_64', '4.8/4.8.14/rhcos-4.8.14-x86_64-live.x86_64.iso'],
    ['4.9', 'x86_64', '49.84.202110081407-0', 'x86_64', '4.9/4.9.0/rhcos-4.9.0-x86_64-live.x86_64.iso'],
    ['4.9', 'arm64', '49.84.202110080947-0', 'aarch64', '4.9/4.9.0/rhcos-4.9.0-aarch64-live.aarch64.iso'],
    ['4.10', 'x86_64', '410.84.202201251210-0', 'x86_64', '4.10/4.10.3/rhcos-4.10.3-x86_64-live.x86_64.iso'],
    ['4.10', 'arm64', '410.84.202201251210-0', 'aarch64', '4.10/4.10.3/rhcos-4.10.3-aarch64-live.aarch64.iso'],
    ['4.15', 's390x', '415.92.202403212258-0', 's390x', '4.15/4.15.0/rhcos-live.s390x.iso'],
  ] as const
).map(([openshiftVersion, cpuArchitecture, version, folder, file]) => {
  const url = `${MIRROR}/${folder}/dependencies/rhcos/${file}`;
  return { openshiftVersion, cpuArchitecture, url, version, type: 'full-iso' };
});

/** Versions end up in cache file names, so they are restricted to characters that cannot form a path. */
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;
const VERSION_MESSAGE = 'must be 1-100 characters of letters, digits, ".", "_", "+" and "-"';

const Required = (...rules: PropertyDecorator[]) =>
  applyDecorators(IsDefined({ message: 'is required' }), IsString({ message: 'must be a string' }), ...rules);
const Version = () => Required(Matches(VERSION_PATTERN, { message: VERSION_MESSAGE }));
const OneOf = (values: readonly string[]) => IsIn(values, { message: `must be one of ${values.join(', ')}` });

/** One entry of the array form of `OS_IMAGES` / `RHCOS_VERSIONS`. */
class OsImageEntryDto {
  @Version() openshift_version!: string;
  /** Aliases (`amd64`, `aarch64`) become the canonical name before the check. */
  @Transform(({ value }) => normalizeArchitecture(String(value)) ?? value)
  @Required(OneOf(CPU_ARCHITECTURES))
  cpu_architecture!: CpuArchitecture;
  @Required(IsImageSourceUrl()) url!: string;
  @Version() version!: string;
  @IsOptional() @OneOf(BASE_IMAGE_TYPES) type?: BaseImageType;
  @IsOptional() @IsHttpUrl() rootfs_url?: string;
  @IsOptional() @Matches(/^[0-9a-fA-F]{64}$/, { message: 'must be 64 hexadecimal characters' }) sha256?: string;
}

/** One value of the original map form of `RHCOS_VERSIONS`: `{"4.6": {"iso_url": …, "rootfs_url": …}}`. */
class VersionMapValueDto {
  @Required(IsImageSourceUrl()) iso_url!: string;
  @IsOptional() @IsHttpUrl() rootfs_url?: string;
}

/** The array form or, for `RHCOS_VERSIONS` only, the original map form: x86_64 full ISOs keyed by OpenShift version. */
export function parseCatalog(variable: 'OS_IMAGES' | 'RHCOS_VERSIONS', json: unknown): OsImageEntry[] {
  if (Array.isArray(json)) {
    if (json.length === 0) throw new ConfigError(variable, 'must list at least one image');
    return json.map((item, index) => toEntry(validated(variable, `[${index}]`, OsImageEntryDto, item)));
  }
  if (variable === 'OS_IMAGES') throw new ConfigError(variable, 'must be a JSON array of images');
  if (typeof json !== 'object' || json === null)
    throw new ConfigError(variable, 'must be a JSON array of images or an object keyed by version');
  if (Object.keys(json).length === 0) throw new ConfigError(variable, 'must list at least one version');
  return Object.entries(json).map(([key, value]: [string, unknown]) => {
    if (!VERSION_PATTERN.test(key)) throw new ConfigError(variable, `key "${key}" ${VERSION_MESSAGE}`);
    const { iso_url, rootfs_url } = validated(variable, `["${key}"]`, VersionMapValueDto, value);
    return toEntry({ openshift_version: key, cpu_architecture: 'x86_64', url: iso_url, version: key, rootfs_url });
  });
}

function toEntry(dto: OsImageEntryDto): OsImageEntry {
  return {
    openshiftVersion: dto.openshift_version,
    cpuArchitecture: dto.cpu_architecture,
    url: dto.url,
    version: dto.version,
    type: dto.type ?? 'full-iso',
    ...(dto.rootfs_url !== undefined && { rootfsUrl: dto.rootfs_url }),
    ...(dto.sha256 !== undefined && { sha256: dto.sha256.toLowerCase() }),
  };
}

function validated<T extends object>(variable: string, path: string, dtoClass: new () => T, value: unknown): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(variable, `${path} must be a JSON object`);
  const dto = plainToInstance(dtoClass, value);
  const [error] = validateSync(dto);
  if (error === undefined) return dto;
  // A missing value fails every rule; "is required" is the one worth reading.
  const { isDefined, ...others } = error.constraints ?? {};
  throw new ConfigError(variable, `${path}.${error.property} ${isDefined ?? Object.values(others)[0] ?? 'is invalid'}`);
}
