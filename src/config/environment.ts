import { tmpdir } from 'node:os';
import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateBy } from 'class-validator';
import type { ValidationArguments } from 'class-validator';

/** A configuration problem, reported at start-up as one line naming the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Variables whose values may hold credentials: never echoed in an error. */
export const SECRET_VARIABLES = new Set(['OS_IMAGES_REQUEST_HEADERS', 'OS_IMAGES_REQUEST_QUERY_PARAMS']);

/** Old names still accepted: the canonical name wins when both are set. */
export const ENVIRONMENT_ALIASES: Readonly<Record<string, keyof EnvironmentVariables>> = {
  PORT: 'LISTEN_PORT',
  LOGLEVEL: 'LOG_LEVEL',
  HTTPS_CA_FILE: 'ASSISTED_SERVICE_API_TRUSTED_CA_FILE',
};

/** Marks a value that was meant to be JSON and is not; the validator turns it into a message. */
class MalformedJson {
  constructor(readonly reason: string) {}
}

/**
 * A variable: `convert` turns the raw string into the value the rules check. Blank means unset (leaving the
 * default), as Kubernetes manifests often write it; what `convert` cannot read it returns as is, for a rule to report.
 */
function Env(convert: (text: string) => unknown, ...rules: PropertyDecorator[]): PropertyDecorator {
  const transform = Transform(({ value }: { value: unknown }) => {
    if (typeof value !== 'string') return value;
    return value.trim() === '' ? undefined : convert(value);
  });
  return applyDecorators(transform, IsOptional(), ...rules);
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

const text = (value: string): string => value;
const trimmed = (value: string): string => value.trim();
const lowercase = (value: string): string => value.trim().toLowerCase();
const integer = (value: string): unknown => (/^\s*\d{1,15}\s*$/.test(value) ? Number(value) : value);
const commaList = (value: string): string[] => value.split(',').map(trimmed).filter(Boolean);
function boolean(value: string): unknown {
  const word = lowercase(value);
  return TRUE_WORDS.includes(word) ? true : FALSE_WORDS.includes(word) ? false : value;
}
function json(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    return new MalformedJson(error instanceof Error ? error.message : String(error));
  }
}

function urlOf(value: unknown): URL | undefined {
  return typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined;
}

function isHttpUrl(value: unknown): boolean {
  const url = urlOf(value);
  return (url?.protocol === 'http:' || url?.protocol === 'https:') && url.hostname !== '';
}

/** An http(s) URL for catalog downloads, or a file:// URL for offline mirrors. */
function isImageSourceUrl(value: unknown): boolean {
  const url = urlOf(value);
  return isHttpUrl(value) || (url?.protocol === 'file:' && url.pathname.length > 1);
}

/** `*`, an origin (`https://console.example.com[:port]`) or a host name, optionally with a `*.` label. */
function isAllowedDomain(item: string): boolean {
  if (item === '*' || /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$/.test(item)) return true;
  const url = urlOf(item);
  return (url?.protocol === 'http:' || url?.protocol === 'https:') && url.origin === item.replace(/\/$/, '');
}

export function isStringMap(value: unknown): value is Record<string, string> {
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  return isObject && Object.values(value).every((item) => typeof item === 'string');
}

/** A class-validator rule from a predicate and a message, which may quote the value: see `withValue` for secrets. */
function rule(name: string, isValid: (value: unknown) => boolean, message: (args: ValidationArguments) => string) {
  return () => ValidateBy({ name, validator: { validate: isValid, defaultMessage: message } });
}

export const IsHttpUrl = rule('isHttpUrl', isHttpUrl, ({ value }) => {
  return `must be an http:// or https:// URL (got "${String(value)}")`;
});
export const IsImageSourceUrl = rule('isImageSourceUrl', isImageSourceUrl, ({ value }) => {
  return `must be an http://, https:// or file:// URL (got "${String(value)}")`;
});
// The JSON parser quotes the offending text, which for a secret variable is the secret.
const IsWellFormedJson = rule(
  'isWellFormedJson',
  (value) => !(value instanceof MalformedJson),
  ({ property, value }) =>
    value instanceof MalformedJson && !SECRET_VARIABLES.has(property)
      ? `is not valid JSON (${value.reason})`
      : 'is not valid JSON',
);
const IsStringMap = rule(
  'isStringMap',
  (value) => value instanceof MalformedJson || isStringMap(value),
  () => 'must be a JSON object whose values are strings',
);
const IsAllowedDomainList = rule(
  'isAllowedDomainList',
  (value) => (value as string[]).every(isAllowedDomain),
  ({ value }) => {
    const item = (value as string[]).find((domain) => !isAllowedDomain(domain));
    return `"${item}" is not "*", an origin such as https://host[:port], or a host name`;
  },
);

const PORT = { message: 'must be a TCP port number between 1 and 65535' };
const Port = () => Env(integer, IsInt(PORT), Min(1, PORT), Max(65_535, PORT));
/** A whole number of seconds from `min` to `max`; `message` says what 0 means when it is allowed. */
const Seconds = (min: number, max: number, message = 'must be a whole number of seconds, at least 1') =>
  Env(integer, IsInt({ message }), Min(min, { message }), Max(max, { message: `must be at most ${max} seconds` }));
const Count = (zero: string) => {
  const message = `must be a whole number (0 means ${zero})`;
  return Env(integer, IsInt({ message }), Min(0, { message }));
};
const BOOT_SAFE = { message: 'must not contain "$" or "\\" (it is written into boot configurations)' };
const IsBootSafe = () => Matches(/^[^$\\]*$/, BOOT_SAFE);
const OneOf = (values: readonly string[], message = `must be one of ${values.join(', ')}`) => IsIn(values, { message });

/**
 * The environment under its canonical names (aliases are resolved before this class sees them), with the defaults
 * README.md lists. The catalogs are checked further by `parseCatalog`; the files named, and the rules across
 * variables, when config.module.ts builds the typed configuration.
 */
export class EnvironmentVariables {
  @Env(text, IsString()) DATA_DIR = './data';
  @Env(text, IsString()) DATA_TEMP_DIR = tmpdir();
  @Env(json, IsWellFormedJson()) OS_IMAGES?: unknown;
  @Env(json, IsWellFormedJson()) RHCOS_VERSIONS?: unknown;
  @Port() LISTEN_PORT = 8080;
  @Port() HTTP_LISTEN_PORT?: number;
  @Env(text, IsString()) HTTPS_CERT_FILE?: string;
  @Env(text, IsString()) HTTPS_KEY_FILE?: string;
  @Env(text, IsHttpUrl()) ASSISTED_SERVICE_URL?: string;
  @Env(lowercase, OneOf(['http', 'https'], 'must be http or https')) ASSISTED_SERVICE_SCHEME?: string;
  @Env(trimmed, IsString()) ASSISTED_SERVICE_HOST?: string;
  @Env(text, IsString()) ASSISTED_SERVICE_API_TRUSTED_CA_FILE?: string;
  @Env(text, IsHttpUrl(), IsBootSafe()) IMAGE_SERVICE_BASE_URL?: string;
  @Env(text, IsString()) OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE?: string;
  @Env(boolean, IsBoolean({ message: 'must be true or false' })) INSECURE_SKIP_VERIFY = false;
  @Env(json, IsWellFormedJson(), IsStringMap()) OS_IMAGES_REQUEST_HEADERS?: unknown;
  @Env(json, IsWellFormedJson(), IsStringMap()) OS_IMAGES_REQUEST_QUERY_PARAMS?: unknown;
  @Env(commaList, IsAllowedDomainList()) ALLOWED_DOMAINS: string[] = [];
  @Count('no limit') MAX_CONCURRENT_REQUESTS = 400;
  /** Unset: as many as MAX_CONCURRENT_REQUESTS. */
  @Count('no queue: busy answers 503 at once') MAX_QUEUED_REQUESTS?: number;
  @Seconds(1, 3_600) MAX_QUEUE_WAIT_SECONDS = 30;
  @Seconds(1, 86_400) DOWNLOAD_STALL_SECONDS = 120;
  @Seconds(1, 86_400) TOOL_TIMEOUT_SECONDS = 600;
  @Seconds(0, 86_400, 'must be a whole number of seconds (0 disables the cache)') CUSTOMIZATION_CACHE_TTL_SECONDS = 30;
  @Env(lowercase, OneOf(LOG_LEVELS)) LOG_LEVEL: LogLevel = 'info';
}
