import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { normalizeArchitecture, type BaseImageType, type OsImageEntry } from '../versions/os-image.js';
import { OsImageEntryDto, SEED_KEY_MESSAGE, SEED_KEY_PATTERN, SeedVersionDto } from './catalog-entry.dto.js';
import { ConfigError } from './config.error.js';
import { firstValidationProblem } from './validation-message.js';

/** Parses the array form (both variables) or, when `allowSeedMap`, the seed's map form (reference §3). */
export function parseCatalog(variable: string, json: unknown, allowSeedMap: boolean): OsImageEntry[] {
  if (Array.isArray(json)) return parseArrayForm(variable, json);
  if (allowSeedMap && typeof json === 'object' && json !== null) return parseSeedMapForm(variable, json);
  const expected = allowSeedMap ? 'a JSON array of images or an object keyed by version' : 'a JSON array of images';
  throw new ConfigError(variable, `must be ${expected}`);
}

function parseArrayForm(variable: string, items: unknown[]): OsImageEntry[] {
  if (items.length === 0) throw new ConfigError(variable, 'must list at least one image');
  return items.map((item, index) => {
    const dto = validated(variable, `[${index}]`, OsImageEntryDto, item);
    return toEntry(dto);
  });
}

function parseSeedMapForm(variable: string, map: object): OsImageEntry[] {
  const keys = Object.keys(map);
  if (keys.length === 0) throw new ConfigError(variable, 'must list at least one version');
  return Object.entries(map).map(([key, value]: [string, unknown]) => {
    if (!SEED_KEY_PATTERN.test(key)) throw new ConfigError(variable, `key "${key}" ${SEED_KEY_MESSAGE}`);
    const dto = validated(variable, `["${key}"]`, SeedVersionDto, value);
    const entry: OsImageEntry = {
      openshiftVersion: key,
      cpuArchitecture: 'x86_64',
      url: dto.iso_url,
      version: key,
      type: 'full-iso',
      ...(dto.rootfs_url === undefined ? {} : { rootfsUrl: dto.rootfs_url }),
    };
    return entry;
  });
}

function validated<T extends object>(variable: string, path: string, dtoClass: new () => T, value: unknown): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(variable, `${path} must be a JSON object`);
  }
  const dto = plainToInstance(dtoClass, value);
  const problem = firstValidationProblem(validateSync(dto));
  if (problem !== undefined) throw new ConfigError(variable, `${path}.${problem}`);
  return dto;
}

function toEntry(dto: OsImageEntryDto): OsImageEntry {
  const cpuArchitecture = normalizeArchitecture(dto.cpu_architecture);
  if (cpuArchitecture === undefined)
    throw new Error(`unreachable: architecture ${dto.cpu_architecture} passed validation`);
  return {
    openshiftVersion: dto.openshift_version,
    cpuArchitecture,
    url: dto.url,
    version: dto.version,
    type: (dto.type ?? 'full-iso') as BaseImageType,
    ...(dto.rootfs_url === undefined ? {} : { rootfsUrl: dto.rootfs_url }),
    ...(dto.sha256 === undefined ? {} : { sha256: dto.sha256.toLowerCase() }),
  };
}
