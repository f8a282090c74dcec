import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import * as areas from './app-config.js';
import type { AppConfig } from './app-config.js';
import { DEFAULT_CATALOG, parseCatalog } from './catalog.js';
import {
  ConfigError,
  ENVIRONMENT_ALIASES,
  EnvironmentVariables,
  SECRET_VARIABLES,
  isStringMap,
} from './environment.js';

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The `validate` of ConfigModule.forRoot: checks the environment and builds the typed configuration, reading the
 * files it names. Throws `ConfigError` naming the first bad variable as the operator spelled it (an alias, if used).
 */
export function validateEnvironment(env: Environment): AppConfig {
  const values: Record<string, string | undefined> = { ...env };
  const names: Record<string, string> = {};
  for (const [alias, canonical] of Object.entries(ENVIRONMENT_ALIASES)) {
    if ((env[canonical] ?? '').trim() === '' && env[alias] !== undefined) {
      values[canonical] = env[alias];
      names[canonical] = alias;
    }
  }
  const vars = plainToInstance(EnvironmentVariables, values, { exposeUnsetFields: false });
  const [error] = validateSync(vars);
  if (error !== undefined) {
    const variable = names[error.property] ?? error.property;
    const problem = Object.values(error.constraints ?? {})[0] ?? 'is invalid';
    throw new ConfigError(variable, withValue(problem, variable, values[error.property]));
  }
  const config = buildConfig(vars, (variable) => names[variable] ?? variable);
  for (const area of Object.values(config)) Object.freeze(area);
  return Object.freeze(config);
}

/** Adds the offending value to a message when it helps and cannot leak a credential or flood the line. */
function withValue(problem: string, variable: string, raw: string | undefined): string {
  if (raw === undefined || SECRET_VARIABLES.has(variable) || problem.includes('"')) return problem;
  if (raw.length > 80 || /^\s*[[{]/.test(raw)) return problem;
  return `${problem} (got "${raw}")`;
}

function buildConfig(vars: EnvironmentVariables, named: (variable: string) => string): AppConfig {
  const storage = storageConfig(vars);
  if (vars.HTTP_LISTEN_PORT === vars.LISTEN_PORT) {
    throw new ConfigError('HTTP_LISTEN_PORT', `must differ from ${named('LISTEN_PORT')} (${vars.LISTEN_PORT})`);
  }
  const server = new areas.ServerConfig(
    vars.LISTEN_PORT,
    vars.HTTP_LISTEN_PORT,
    tlsFiles(vars),
    vars.ALLOWED_DOMAINS,
    vars.MAX_CONCURRENT_REQUESTS,
    // As many may wait as may be served: a full queue means the replica is saturated, and waiting longer helps nobody.
    vars.MAX_QUEUED_REQUESTS ?? vars.MAX_CONCURRENT_REQUESTS,
    vars.MAX_QUEUE_WAIT_SECONDS,
    vars.DOWNLOAD_STALL_SECONDS,
    vars.IMAGE_SERVICE_BASE_URL?.replace(/\/+$/, ''),
  );
  const { OS_IMAGES, RHCOS_VERSIONS } = vars;
  const catalog =
    OS_IMAGES !== undefined
      ? new areas.CatalogConfig(parseCatalog('OS_IMAGES', OS_IMAGES), 'OS_IMAGES')
      : RHCOS_VERSIONS !== undefined
        ? new areas.CatalogConfig(parseCatalog('RHCOS_VERSIONS', RHCOS_VERSIONS), 'RHCOS_VERSIONS')
        : new areas.CatalogConfig(DEFAULT_CATALOG, 'built-in default');
  const headers = stringMap(vars.OS_IMAGES_REQUEST_HEADERS);
  const queryParams = stringMap(vars.OS_IMAGES_REQUEST_QUERY_PARAMS);
  const imageCa = trustedCa('OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE', vars.OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE);
  const imageSource = new areas.ImageSourceConfig(imageCa, vars.INSECURE_SKIP_VERIFY, headers, queryParams);
  const assistedCa = vars.ASSISTED_SERVICE_API_TRUSTED_CA_FILE;
  const assistedService = new areas.AssistedServiceConfig(
    assistedServiceUrl(vars),
    trustedCa(named('ASSISTED_SERVICE_API_TRUSTED_CA_FILE'), assistedCa),
    vars.CUSTOMIZATION_CACHE_TTL_SECONDS,
  );
  const secretValues = [...Object.values(headers), ...Object.values(queryParams)];
  const logging = new areas.LoggingConfig(vars.LOG_LEVEL, secretValues);
  return { server, storage, catalog, imageSource, assistedService, logging };
}

function stringMap(value: unknown): Readonly<Record<string, string>> {
  return isStringMap(value) ? { ...value } : {};
}

function storageConfig(vars: EnvironmentVariables): areas.StorageConfig {
  const dataDir = directory('DATA_DIR', vars.DATA_DIR);
  const dataTempDir = directory('DATA_TEMP_DIR', vars.DATA_TEMP_DIR);
  const inside = relative(dataDir, dataTempDir);
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    // Files in DATA_DIR that the catalog does not name are removed at start, scratch space included.
    throw new ConfigError('DATA_TEMP_DIR', `must be outside DATA_DIR (${dataDir})`);
  }
  return new areas.StorageConfig(dataDir, dataTempDir, vars.TOOL_TIMEOUT_SECONDS);
}

/** The directories are created on demand; a path that already exists must be a directory. */
function directory(variable: string, path: string): string {
  const absolute = resolve(path);
  if (statSync(absolute, { throwIfNoEntry: false })?.isDirectory() === false) {
    throw new ConfigError(variable, `"${absolute}" exists and is not a directory`);
  }
  return absolute;
}

/** `ASSISTED_SERVICE_URL`, else `ASSISTED_SERVICE_SCHEME` + `ASSISTED_SERVICE_HOST`; no trailing slash. */
function assistedServiceUrl(vars: EnvironmentVariables): string | undefined {
  const { ASSISTED_SERVICE_URL: url, ASSISTED_SERVICE_SCHEME: scheme, ASSISTED_SERVICE_HOST: host } = vars;
  if (url !== undefined) return url.replace(/\/+$/, '');
  if (host === undefined && scheme !== undefined) {
    throw new ConfigError('ASSISTED_SERVICE_HOST', 'must be set when ASSISTED_SERVICE_SCHEME is set');
  }
  if (host === undefined) return undefined;
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) {
    throw new ConfigError('ASSISTED_SERVICE_HOST', `must be "host" or "host:port" (got "${host}")`);
  }
  return `${scheme ?? 'http'}://${host}`;
}

/** The certificate and key must both be set, parse, and belong together: a wrong file fails at start. */
function tlsFiles(vars: EnvironmentVariables): areas.ServerConfig['tls'] {
  const { HTTPS_CERT_FILE: certFile, HTTPS_KEY_FILE: keyFile } = vars;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined) throw new ConfigError('HTTPS_CERT_FILE', 'must be set together with HTTPS_KEY_FILE');
  if (keyFile === undefined) throw new ConfigError('HTTPS_KEY_FILE', 'must be set together with HTTPS_CERT_FILE');
  const cert = check('HTTPS_CERT_FILE', `cannot read "${certFile}"`, () => readFileSync(certFile, 'utf8'));
  const key = check('HTTPS_KEY_FILE', `cannot read "${keyFile}"`, () => readFileSync(keyFile, 'utf8'));
  check('HTTPS_CERT_FILE', `"${certFile}" is not a PEM certificate`, () => new X509Certificate(cert));
  check('HTTPS_KEY_FILE', `"${keyFile}" is not a PEM private key`, () => createPrivateKey(key));
  const mismatch = `"${keyFile}" does not match the certificate in HTTPS_CERT_FILE`;
  check('HTTPS_KEY_FILE', mismatch, () => createSecureContext({ cert, key }));
  return { certFile, keyFile };
}

/** Reads a CA bundle and checks every certificate in it parses; undefined when no file is named. */
function trustedCa(variable: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const pem = check(variable, `cannot read "${path}"`, () => readFileSync(path, 'utf8'));
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError(variable, `"${path}" holds no PEM certificate`);
  for (const block of blocks) {
    check(variable, `"${path}" holds an unreadable certificate`, () => new X509Certificate(block));
  }
  return pem;
}

/** Runs `attempt`; a failure becomes a ConfigError for `variable` that ends with the underlying reason. */
function check<T>(variable: string, problem: string, attempt: () => T): T {
  try {
    return attempt();
  } catch (error) {
    throw new ConfigError(variable, `${problem}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Provides each area of the configuration by its class, read from @nestjs/config's ConfigService. */
@Global()
@Module({})
class AppConfigModule {}

const AREA_CLASSES: { readonly [K in keyof AppConfig]: abstract new (...args: never[]) => AppConfig[K] } = {
  server: areas.ServerConfig,
  storage: areas.StorageConfig,
  catalog: areas.CatalogConfig,
  imageSource: areas.ImageSourceConfig,
  assistedService: areas.AssistedServiceConfig,
  logging: areas.LoggingConfig,
};

/** The typed configuration and the module that provides it to Nest, validated together before Nest starts. */
export interface LoadedConfig extends AppConfig {
  readonly module: DynamicModule;
}

/**
 * Validates the environment through @nestjs/config: `ConfigModule.forRoot` runs `validate` when called, so a bad
 * variable rejects here, before Nest starts, and main.ts reports it in one line. Without `env`, @nestjs/config reads
 * process.env; tests pass `env` and leave the process alone. The validated value holds only objects, so
 * @nestjs/config copies nothing back into process.env.
 */
export async function loadConfig(env?: Environment): Promise<LoadedConfig> {
  let config: AppConfig | undefined;
  const configModule = await ConfigModule.forRoot({
    ignoreEnvFile: true,
    ignoreEnvVars: env !== undefined,
    skipProcessEnv: true,
    validate: (merged) => (config = validateEnvironment(env ?? merged)),
  });
  if (config === undefined) throw new Error('ConfigModule.forRoot did not call validate');
  const providers = (Object.keys(AREA_CLASSES) as (keyof AppConfig)[]).map((area) => ({
    provide: AREA_CLASSES[area],
    inject: [ConfigService],
    useFactory: (configService: ConfigService<AppConfig, true>) => configService.get(area, { infer: true }),
  }));
  const exports = providers.map((provider) => provider.provide);
  return { ...config, module: { module: AppConfigModule, imports: [configModule], providers, exports } };
}
