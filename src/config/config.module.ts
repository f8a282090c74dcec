import { isAbsolute, relative } from 'node:path';
import { createSecureContext } from 'node:tls';
import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { failure } from '../common/service-error.js';
import * as areas from './app-config.js';
import { DEFAULT_CATALOG, parseCatalog } from './catalog.js';
import { ConfigError, ENVIRONMENT_ALIASES, EnvironmentVariables, SECRET_VARIABLES } from './environment.js';

export type Environment = Readonly<Record<string, string | undefined>>;
export type AppConfig = Readonly<ReturnType<typeof buildConfig>>;

/** Checks the environment and builds the areas; a `ConfigError` names the first bad variable as the operator spelled it. */
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
    const raw = values[error.property];
    // The value helps the operator, unless it could leak a credential or flood the line.
    const hidden = raw === undefined || raw.length > 80 || /^\s*[[{]/.test(raw) || SECRET_VARIABLES.has(variable);
    throw new ConfigError(variable, hidden || problem.includes('"') ? problem : `${problem} (got "${raw}")`);
  }
  return buildConfig(vars, names.LISTEN_PORT ?? 'LISTEN_PORT');
}

/** Builds the areas, checking the rules across variables that EnvironmentVariables checks one by one. */
function buildConfig(vars: EnvironmentVariables, listenPortName: string) {
  const inside = relative(vars.DATA_DIR, vars.DATA_TEMP_DIR);
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    // Files in DATA_DIR that the catalog does not name are removed at start, scratch space included.
    throw new ConfigError('DATA_TEMP_DIR', `must be outside DATA_DIR (${vars.DATA_DIR})`);
  }
  if (vars.HTTP_LISTEN_PORT === vars.LISTEN_PORT)
    throw new ConfigError('HTTP_LISTEN_PORT', `must differ from ${listenPortName} (${vars.LISTEN_PORT})`);
  const { OS_IMAGES_REQUEST_HEADERS: headers, OS_IMAGES_REQUEST_QUERY_PARAMS: queryParams } = vars;
  const imageCa = vars.OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE?.text;
  return {
    server: new areas.ServerConfig(
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
    ),
    storage: new areas.StorageConfig(vars.DATA_DIR, vars.DATA_TEMP_DIR, vars.TOOL_TIMEOUT_SECONDS),
    catalog: catalogConfig(vars),
    imageSource: new areas.ImageSourceConfig(imageCa, vars.INSECURE_SKIP_VERIFY, headers, queryParams),
    assistedService: new areas.AssistedServiceConfig(
      assistedServiceUrl(vars),
      vars.ASSISTED_SERVICE_API_TRUSTED_CA_FILE?.text,
      vars.CUSTOMIZATION_CACHE_TTL_SECONDS,
    ),
    logging: new areas.LoggingConfig(vars.LOG_LEVEL, [...Object.values(headers), ...Object.values(queryParams)]),
  };
}

function catalogConfig({ OS_IMAGES, RHCOS_VERSIONS }: EnvironmentVariables): areas.CatalogConfig {
  if (OS_IMAGES !== undefined) return new areas.CatalogConfig(parseCatalog('OS_IMAGES', OS_IMAGES), 'OS_IMAGES');
  if (RHCOS_VERSIONS === undefined) return new areas.CatalogConfig(DEFAULT_CATALOG, 'built-in default');
  return new areas.CatalogConfig(parseCatalog('RHCOS_VERSIONS', RHCOS_VERSIONS), 'RHCOS_VERSIONS');
}

function assistedServiceUrl(vars: EnvironmentVariables): string | undefined {
  const { ASSISTED_SERVICE_URL: url, ASSISTED_SERVICE_SCHEME: scheme, ASSISTED_SERVICE_HOST: host } = vars;
  if (url !== undefined) return url.replace(/\/+$/, '');
  if (host === undefined && scheme !== undefined)
    throw new ConfigError('ASSISTED_SERVICE_HOST', 'must be set when ASSISTED_SERVICE_SCHEME is set');
  if (host === undefined) return undefined;
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host))
    throw new ConfigError('ASSISTED_SERVICE_HOST', `must be "host" or "host:port" (got "${host}")`);
  return `${scheme ?? 'http'}://${host}`;
}

/** Both TLS files must be set, and the key must belong to the certificate: a wrong file fails at start. */
function tlsFiles({ HTTPS_CERT_FILE: cert, HTTPS_KEY_FILE: key }: EnvironmentVariables): areas.ServerConfig['tls'] {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined) throw new ConfigError('HTTPS_CERT_FILE', 'must be set together with HTTPS_KEY_FILE');
  if (key === undefined) throw new ConfigError('HTTPS_KEY_FILE', 'must be set together with HTTPS_CERT_FILE');
  const mismatch = `"${key.path}" does not match the certificate in HTTPS_CERT_FILE`;
  const problem = failure(mismatch, () => createSecureContext({ cert: cert.text, key: key.text }));
  if (problem !== undefined) throw new ConfigError('HTTPS_KEY_FILE', problem);
  return { certFile: cert.path, keyFile: key.path };
}

@Module({})
class AppConfigModule {}

/** The typed configuration, and the global module that provides each area by its class (read from ConfigService). */
export type LoadedConfig = AppConfig & { readonly module: DynamicModule };

/**
 * `ConfigModule.forRoot` runs `validate` at once, so a bad variable rejects here, before Nest starts. Without `env`,
 * it reads process.env; tests pass `env`. Its value holds only objects: nothing is copied back into process.env.
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
  const providers = Object.entries(config).map(([area, value]: [string, object]) => ({
    provide: value.constructor,
    inject: [ConfigService],
    useFactory: (configService: ConfigService) => configService.get<unknown>(area),
  }));
  const exports = providers.map((provider) => provider.provide);
  return { ...config, module: { module: AppConfigModule, global: true, imports: [configModule], providers, exports } };
}
