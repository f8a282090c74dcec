import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import {
  AssistedServiceConfig,
  CatalogConfig,
  ImageSourceConfig,
  LoggingConfig,
  ServerConfig,
  StorageConfig,
  type AppConfig,
} from './app-config.js';
import { parseCatalog } from './catalog.parse.js';
import { ConfigError } from './config.error.js';
import { DEFAULT_CATALOG } from './default-catalog.js';
import { ENVIRONMENT_ALIASES, EnvironmentVariables } from './environment.js';
import { readTrustedCa, validateTlsPair } from './pem-files.js';
import { SECRET_VARIABLES, isStringMap } from './env-validators.js';
import { resolveAssistedServiceUrl } from './assisted-service-url.js';
import { parseAllowedDomains } from './allowed-domains.js';

export type Environment = Readonly<Record<string, string | undefined>>;

const DEFAULT_LISTEN_PORT = 8080;
const DEFAULT_MAX_CONCURRENT_REQUESTS = 400;
const DEFAULT_CUSTOMIZATION_CACHE_TTL_SECONDS = 30;
const DEFAULT_MAX_QUEUE_WAIT_SECONDS = 30;
const DEFAULT_DOWNLOAD_STALL_SECONDS = 120;
const DEFAULT_TOOL_TIMEOUT_SECONDS = 600;

/** Validates the environment of reference §2 and builds the typed configuration; throws `ConfigError`. */
export function loadConfig(env: Environment): AppConfig {
  const { values, names } = resolveAliases(env);
  const vars = validateEnvironment(values, names);
  const storage = storageConfig(vars);
  return Object.freeze({
    server: Object.freeze(serverConfig(vars, names)),
    storage: Object.freeze(storage),
    catalog: Object.freeze(catalogConfig(vars)),
    imageSource: Object.freeze(imageSourceConfig(vars)),
    assistedService: Object.freeze(assistedServiceConfig(vars, names)),
    logging: Object.freeze(new LoggingConfig(vars.LOG_LEVEL ?? 'info')),
  });
}

interface ResolvedEnvironment {
  values: Record<string, string | undefined>;
  /** Canonical name → the name the operator actually used, so messages name what they set. */
  names: Record<string, string>;
}

function resolveAliases(env: Environment): ResolvedEnvironment {
  const values: Record<string, string | undefined> = { ...env };
  const names: Record<string, string> = {};
  for (const [alias, canonical] of Object.entries(ENVIRONMENT_ALIASES)) {
    const canonicalValue = env[canonical];
    const aliasValue = env[alias];
    if ((canonicalValue === undefined || canonicalValue.trim() === '') && aliasValue !== undefined) {
      values[canonical] = aliasValue;
      names[canonical] = alias;
    }
  }
  return { values, names };
}

function validateEnvironment(
  values: Record<string, string | undefined>,
  names: Record<string, string>,
): EnvironmentVariables {
  const vars = plainToInstance(EnvironmentVariables, values);
  const [error] = validateSync(vars);
  if (error === undefined) return vars;
  const variable = names[error.property] ?? error.property;
  const problem = Object.values(error.constraints ?? {})[0] ?? 'is invalid';
  throw new ConfigError(variable, withValue(problem, variable, values[error.property]));
}

/** Adds the offending value to a message when it helps and cannot leak a credential or flood the line. */
function withValue(problem: string, variable: string, raw: string | undefined): string {
  if (raw === undefined || SECRET_VARIABLES.has(variable) || problem.includes('"')) return problem;
  if (raw.length > 80 || /^\s*[[{]/.test(raw)) return problem;
  return `${problem} (got "${raw}")`;
}

function serverConfig(vars: EnvironmentVariables, names: Record<string, string>): ServerConfig {
  const listenPort = vars.LISTEN_PORT ?? DEFAULT_LISTEN_PORT;
  if (vars.HTTP_LISTEN_PORT !== undefined && vars.HTTP_LISTEN_PORT === listenPort) {
    throw new ConfigError('HTTP_LISTEN_PORT', `must differ from ${names.LISTEN_PORT ?? 'LISTEN_PORT'} (${listenPort})`);
  }
  const tls = tlsFiles(vars);
  if (vars.IMAGE_SERVICE_BASE_URL !== undefined && /[$\\]/.test(vars.IMAGE_SERVICE_BASE_URL)) {
    throw new ConfigError(
      'IMAGE_SERVICE_BASE_URL',
      'must not contain "$" or "\\" (it is written into boot configurations)',
    );
  }
  const maxConcurrentRequests = vars.MAX_CONCURRENT_REQUESTS ?? DEFAULT_MAX_CONCURRENT_REQUESTS;
  return new ServerConfig(
    listenPort,
    vars.HTTP_LISTEN_PORT,
    tls,
    parseAllowedDomains(vars.ALLOWED_DOMAINS ?? []),
    maxConcurrentRequests,
    // As many may wait as may be served: a full queue means the replica is saturated, and waiting longer helps nobody.
    vars.MAX_QUEUED_REQUESTS ?? maxConcurrentRequests,
    vars.MAX_QUEUE_WAIT_SECONDS ?? DEFAULT_MAX_QUEUE_WAIT_SECONDS,
    vars.DOWNLOAD_STALL_SECONDS ?? DEFAULT_DOWNLOAD_STALL_SECONDS,
    vars.IMAGE_SERVICE_BASE_URL?.replace(/\/+$/, ''),
  );
}

function tlsFiles(vars: EnvironmentVariables): ServerConfig['tls'] {
  const { HTTPS_CERT_FILE: certFile, HTTPS_KEY_FILE: keyFile } = vars;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined) throw new ConfigError('HTTPS_CERT_FILE', 'must be set together with HTTPS_KEY_FILE');
  if (keyFile === undefined) throw new ConfigError('HTTPS_KEY_FILE', 'must be set together with HTTPS_CERT_FILE');
  validateTlsPair(certFile, keyFile);
  return { certFile, keyFile };
}

function storageConfig(vars: EnvironmentVariables): StorageConfig {
  const dataDir = resolve(vars.DATA_DIR ?? './data');
  const dataTempDir = resolve(vars.DATA_TEMP_DIR ?? tmpdir());
  refuseNonDirectory('DATA_DIR', dataDir);
  refuseNonDirectory('DATA_TEMP_DIR', dataTempDir);
  const inside = relative(dataDir, dataTempDir);
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    // Files in DATA_DIR that the catalog does not name are removed at start, scratch space included.
    throw new ConfigError('DATA_TEMP_DIR', `must be outside DATA_DIR (${dataDir})`);
  }
  return new StorageConfig(dataDir, dataTempDir, vars.TOOL_TIMEOUT_SECONDS ?? DEFAULT_TOOL_TIMEOUT_SECONDS);
}

/** The directories are created on demand; a path that already exists must be a directory. */
function refuseNonDirectory(variable: string, path: string): void {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (stats !== undefined && !stats.isDirectory())
    throw new ConfigError(variable, `"${path}" exists and is not a directory`);
}

function catalogConfig(vars: EnvironmentVariables): CatalogConfig {
  if (vars.OS_IMAGES !== undefined)
    return new CatalogConfig(parseCatalog('OS_IMAGES', vars.OS_IMAGES, false), 'OS_IMAGES');
  if (vars.RHCOS_VERSIONS !== undefined) {
    return new CatalogConfig(parseCatalog('RHCOS_VERSIONS', vars.RHCOS_VERSIONS, true), 'RHCOS_VERSIONS');
  }
  return new CatalogConfig(DEFAULT_CATALOG, 'built-in default');
}

function imageSourceConfig(vars: EnvironmentVariables): ImageSourceConfig {
  const caFile = vars.OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE;
  return new ImageSourceConfig(
    caFile === undefined ? undefined : readTrustedCa('OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE', caFile),
    vars.INSECURE_SKIP_VERIFY ?? false,
    stringMap(vars.OS_IMAGES_REQUEST_HEADERS),
    stringMap(vars.OS_IMAGES_REQUEST_QUERY_PARAMS),
  );
}

function stringMap(value: unknown): Readonly<Record<string, string>> {
  return isStringMap(value) ? Object.freeze({ ...value }) : Object.freeze({});
}

function assistedServiceConfig(vars: EnvironmentVariables, names: Record<string, string>): AssistedServiceConfig {
  const caVariable = names.ASSISTED_SERVICE_API_TRUSTED_CA_FILE ?? 'ASSISTED_SERVICE_API_TRUSTED_CA_FILE';
  const caFile = vars.ASSISTED_SERVICE_API_TRUSTED_CA_FILE;
  return new AssistedServiceConfig(
    resolveAssistedServiceUrl(vars),
    caFile === undefined ? undefined : readTrustedCa(caVariable, caFile),
    vars.CUSTOMIZATION_CACHE_TTL_SECONDS ?? DEFAULT_CUSTOMIZATION_CACHE_TTL_SECONDS,
  );
}
