import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min, ValidateBy } from 'class-validator';
import { errorMessage, failure } from '../common/service-error.js';

/** A configuration problem, reported at start-up as one line naming the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
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

/** A class-validator rule from a function that says what is wrong with a value (undefined: nothing). */
function rule(name: string, problemOf: (value: unknown) => string | undefined): PropertyDecorator {
  const validate = (value: unknown): boolean => problemOf(value) === undefined;
  return ValidateBy({ name, validator: { validate, defaultMessage: (args) => problemOf(args?.value) ?? '' } });
}

/** `convert` gives what the rules check or an `Error` saying why not. Blank is unset, as manifests often write it. */
function Env(convert: (text: string, variable: string) => unknown, ...rules: PropertyDecorator[]): PropertyDecorator {
  const transform = Transform(({ value, key }: { value: unknown; key: string }) =>
    typeof value === 'string' && value.trim() !== '' ? convert(value, key) : undefined,
  );
  const converted = rule('converted', (value) => (value instanceof Error ? value.message : undefined));
  return applyDecorators(transform, IsOptional(), converted, ...rules);
}

const trimmed = (value: string): string => value.trim();
const lowercase = (value: string): string => value.trim().toLowerCase();
/** Not a whole number: left as it is, for IsInt to refuse with the variable's own message. */
const integer = (value: string): unknown => (/^\s*\d{1,15}\s*$/.test(value) ? Number(value) : value);
function boolean(value: string): boolean | Error {
  const word = lowercase(value);
  if (['true', '1', 'yes', 'on'].includes(word)) return true;
  return ['false', '0', 'no', 'off'].includes(word) ? false : new Error('must be true or false');
}
function json(value: string, variable: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    // The parser quotes the offending text, which for a secret variable is the secret.
    const reason = SECRET_VARIABLES.has(variable) ? '' : ` (${errorMessage(error)})`;
    return new Error(`is not valid JSON${reason}`);
  }
}
function stringMap(value: string, variable: string): unknown {
  const map = json(value, variable);
  const isObject = typeof map === 'object' && map !== null && !Array.isArray(map);
  if (map instanceof Error || (isObject && Object.values(map).every((item) => typeof item === 'string'))) return map;
  return new Error('must be a JSON object whose values are strings');
}

const urlOf = (value: unknown): URL | null => (typeof value === 'string' ? URL.parse(value) : null);
/** The URL parser refuses http(s) URLs without a host, so the scheme is all left to check. */
const isWebUrl = (url: URL | null): url is URL => url?.protocol === 'http:' || url?.protocol === 'https:';
const urlRule = (name: string, schemes: string, accepts: (url: URL | null) => boolean): PropertyDecorator =>
  rule(name, (value) => (accepts(urlOf(value)) ? undefined : `must be an ${schemes} URL (got "${String(value)}")`));
export const IsHttpUrl = (): PropertyDecorator => urlRule('isHttpUrl', 'http:// or https://', isWebUrl);
/** file:// URLs name the ISOs of offline mirrors. */
const isFileUrl = (url: URL | null): boolean => url?.protocol === 'file:' && url.pathname.length > 1;
export const IsImageSourceUrl = (): PropertyDecorator =>
  urlRule('isImageSourceUrl', 'http://, https:// or file://', (url) => isWebUrl(url) || isFileUrl(url));

/** `*`, an origin (`https://console.example.com[:port]`) or a host name, optionally with a `*.` label. */
function isAllowedDomain(item: string): boolean {
  if (item === '*' || /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$/.test(item)) return true;
  const url = urlOf(item);
  return isWebUrl(url) && url.origin === item.replace(/\/$/, '');
}
function domainList(value: string): string[] | Error {
  const list = value.split(',').map(trimmed).filter(Boolean);
  const bad = list.find((item) => !isAllowedDomain(item));
  if (bad === undefined) return list;
  return new Error(`"${bad}" is not "*", an origin such as https://host[:port], or a host name`);
}

/** A file a variable names, read and checked with the environment; the configuration keeps its text. */
type TextFile = { readonly path: string; readonly text: string };

/** A converter that reads the file a variable names; `problemOf` says what is wrong with its text. */
const textFile = (problemOf: (file: TextFile) => string | undefined) => (path: string) => {
  let text = '';
  const unreadable = failure(`cannot read "${path}"`, () => (text = readFileSync(path, 'utf8')));
  const problem = unreadable ?? problemOf({ path, text });
  return problem === undefined ? { path, text } : new Error(problem);
};
const pemFile = (what: string, parse: (pem: string) => unknown) =>
  textFile(({ path, text }) => failure(`"${path}" is not a PEM ${what}`, () => parse(text)));
/** Every certificate in a CA bundle must parse. */
const caBundle = textFile(({ path, text }) => {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return `"${path}" holds no PEM certificate`;
  const unreadable = `"${path}" holds an unreadable certificate`;
  return blocks.map((block) => failure(unreadable, () => new X509Certificate(block))).find(Boolean);
});

/** Created on demand, so it need not exist; a rule, not a converter, so that the default is checked too. */
const notDirectory = rule('isDirectory', (path) => {
  const stats = statSync(String(path), { throwIfNoEntry: false });
  return stats?.isDirectory() === false ? `"${String(path)}" exists and is not a directory` : undefined;
});
const Directory = () => Env((path) => resolve(path), notDirectory);
const PORT = { message: 'must be a TCP port number between 1 and 65535' };
const Port = () => Env(integer, IsInt(PORT), Min(1, PORT), Max(65_535, PORT));
/** A whole number of seconds from `min` to `max`; `message` says what 0 means when it is allowed. */
const Seconds = (min: number, max: number, message = 'must be a whole number of seconds, at least 1') =>
  Env(integer, IsInt({ message }), Min(min, { message }), Max(max, { message: `must be at most ${max} seconds` }));
const Count = (zero: string, message = `must be a whole number (0 means ${zero})`) =>
  Env(integer, IsInt({ message }), Min(0, { message }));
const OneOf = (values: readonly string[], message = `must be one of ${values.join(', ')}`) =>
  Env(lowercase, IsIn(values, { message }));
const BOOT_SAFE = { message: 'must not contain "$" or "\\" (it is written into boot configurations)' };

/**
 * The environment under its canonical names (aliases already resolved), with README.md's defaults. `parseCatalog`
 * checks the catalogs further, and config.module.ts the rules across variables.
 */
export class EnvironmentVariables {
  @Directory() DATA_DIR = resolve('./data');
  @Directory() DATA_TEMP_DIR = resolve(tmpdir());
  @Env(json) OS_IMAGES?: unknown;
  @Env(json) RHCOS_VERSIONS?: unknown;
  @Port() LISTEN_PORT = 8080;
  @Port() HTTP_LISTEN_PORT?: number;
  @Env(pemFile('certificate', (pem) => new X509Certificate(pem))) HTTPS_CERT_FILE?: TextFile;
  @Env(pemFile('private key', createPrivateKey)) HTTPS_KEY_FILE?: TextFile;
  @Env(String, IsHttpUrl()) ASSISTED_SERVICE_URL?: string;
  @OneOf(['http', 'https'], 'must be http or https') ASSISTED_SERVICE_SCHEME?: string;
  @Env(trimmed) ASSISTED_SERVICE_HOST?: string;
  @Env(caBundle) ASSISTED_SERVICE_API_TRUSTED_CA_FILE?: TextFile;
  @Env(String, IsHttpUrl(), Matches(/^[^$\\]*$/, BOOT_SAFE)) IMAGE_SERVICE_BASE_URL?: string;
  @Env(caBundle) OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE?: TextFile;
  @Env(boolean) INSECURE_SKIP_VERIFY = false;
  @Env(stringMap) OS_IMAGES_REQUEST_HEADERS: Readonly<Record<string, string>> = {};
  @Env(stringMap) OS_IMAGES_REQUEST_QUERY_PARAMS: Readonly<Record<string, string>> = {};
  @Env(domainList) ALLOWED_DOMAINS: string[] = [];
  @Count('no limit') MAX_CONCURRENT_REQUESTS = 400;
  /** Unset: as many as MAX_CONCURRENT_REQUESTS. */
  @Count('no queue: busy answers 503 at once') MAX_QUEUED_REQUESTS?: number;
  @Seconds(1, 3_600) MAX_QUEUE_WAIT_SECONDS = 30;
  @Seconds(1, 86_400) DOWNLOAD_STALL_SECONDS = 120;
  @Seconds(1, 86_400) TOOL_TIMEOUT_SECONDS = 600;
  @Seconds(0, 86_400, 'must be a whole number of seconds (0 disables the cache)') CUSTOMIZATION_CACHE_TTL_SECONDS = 30;
  @OneOf(LOG_LEVELS) LOG_LEVEL: LogLevel = 'info';
}
