import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { blankToUndefined, toBoolean, toCommaList, toInteger, toJson, toTrimmedLowercase } from './env-transforms.js';
import { IsHttpUrl, IsReadableFile, IsStringMap, IsWellFormedJson } from './env-validators.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const PORT_MESSAGE = 'must be a TCP port number between 1 and 65535';
const SECONDS_MESSAGE = 'must be a whole number of seconds, at least 1';

/**
 * The environment of reference §2 under its canonical names (aliases are resolved before this class sees
 * them), transformed from strings and validated. JSON catalogs are checked further by `parseCatalog`.
 */
export class EnvironmentVariables {
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  DATA_DIR?: string;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  DATA_TEMP_DIR?: string;

  @Transform(toJson)
  @IsOptional()
  @IsWellFormedJson()
  OS_IMAGES?: unknown;

  @Transform(toJson)
  @IsOptional()
  @IsWellFormedJson()
  RHCOS_VERSIONS?: unknown;

  @Transform(toInteger)
  @IsOptional()
  @IsInt({ message: PORT_MESSAGE })
  @Min(1, { message: PORT_MESSAGE })
  @Max(65535, { message: PORT_MESSAGE })
  LISTEN_PORT?: number;

  @Transform(toInteger)
  @IsOptional()
  @IsInt({ message: PORT_MESSAGE })
  @Min(1, { message: PORT_MESSAGE })
  @Max(65535, { message: PORT_MESSAGE })
  HTTP_LISTEN_PORT?: number;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsReadableFile()
  HTTPS_CERT_FILE?: string;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsReadableFile()
  HTTPS_KEY_FILE?: string;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsHttpUrl()
  ASSISTED_SERVICE_URL?: string;

  @Transform(toTrimmedLowercase)
  @IsOptional()
  @IsIn(['http', 'https'], { message: 'must be http or https' })
  ASSISTED_SERVICE_SCHEME?: string;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  ASSISTED_SERVICE_HOST?: string;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsReadableFile()
  ASSISTED_SERVICE_API_TRUSTED_CA_FILE?: string;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsHttpUrl()
  IMAGE_SERVICE_BASE_URL?: string;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsReadableFile()
  OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE?: string;

  @Transform(toBoolean)
  @IsOptional()
  @IsBoolean({ message: 'must be true or false' })
  INSECURE_SKIP_VERIFY?: boolean;

  @Transform(toJson)
  @IsOptional()
  @IsWellFormedJson()
  @IsStringMap()
  OS_IMAGES_REQUEST_HEADERS?: unknown;

  @Transform(toJson)
  @IsOptional()
  @IsWellFormedJson()
  @IsStringMap()
  OS_IMAGES_REQUEST_QUERY_PARAMS?: unknown;

  @Transform(toCommaList)
  @IsOptional()
  @IsString({ each: true })
  ALLOWED_DOMAINS?: string[];

  @Transform(toInteger)
  @IsOptional()
  @IsInt({ message: 'must be a whole number (0 means no limit)' })
  @Min(0, { message: 'must be a whole number (0 means no limit)' })
  MAX_CONCURRENT_REQUESTS?: number;

  @Transform(toInteger)
  @IsOptional()
  @IsInt({ message: 'must be a whole number (0 means no queue: busy answers 503 at once)' })
  @Min(0, { message: 'must be a whole number (0 means no queue: busy answers 503 at once)' })
  MAX_QUEUED_REQUESTS?: number;

  @Transform(toInteger)
  @IsOptional()
  @IsInt({ message: SECONDS_MESSAGE })
  @Min(1, { message: SECONDS_MESSAGE })
  @Max(3_600, { message: 'must be at most 3600 seconds' })
  MAX_QUEUE_WAIT_SECONDS?: number;

  @Transform(toInteger)
  @IsOptional()
  @IsInt({ message: SECONDS_MESSAGE })
  @Min(1, { message: SECONDS_MESSAGE })
  @Max(86_400, { message: 'must be at most 86400 seconds' })
  DOWNLOAD_STALL_SECONDS?: number;

  @Transform(toInteger)
  @IsOptional()
  @IsInt({ message: SECONDS_MESSAGE })
  @Min(1, { message: SECONDS_MESSAGE })
  @Max(86_400, { message: 'must be at most 86400 seconds' })
  TOOL_TIMEOUT_SECONDS?: number;

  @Transform(toInteger)
  @IsOptional()
  @IsInt({ message: 'must be a whole number of seconds (0 disables the cache)' })
  @Min(0, { message: 'must be a whole number of seconds (0 disables the cache)' })
  @Max(86_400, { message: 'must be at most 86400 seconds' })
  CUSTOMIZATION_CACHE_TTL_SECONDS?: number;

  @Transform(toTrimmedLowercase)
  @IsOptional()
  @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL?: LogLevel;
}

/** Old or seed names still accepted: the canonical name wins when both are set. */
export const ENVIRONMENT_ALIASES: Readonly<Record<string, keyof EnvironmentVariables>> = {
  PORT: 'LISTEN_PORT',
  LOGLEVEL: 'LOG_LEVEL',
  HTTPS_CA_FILE: 'ASSISTED_SERVICE_API_TRUSTED_CA_FILE',
};
