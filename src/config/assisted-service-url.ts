import { ConfigError } from './config.error.js';
import type { EnvironmentVariables } from './environment.js';

/** `ASSISTED_SERVICE_URL`, else `ASSISTED_SERVICE_SCHEME` + `ASSISTED_SERVICE_HOST`; no trailing slash. */
export function resolveAssistedServiceUrl(vars: EnvironmentVariables): string | undefined {
  if (vars.ASSISTED_SERVICE_URL !== undefined) return vars.ASSISTED_SERVICE_URL.replace(/\/+$/, '');
  const host = vars.ASSISTED_SERVICE_HOST?.trim();
  if (host === undefined) {
    if (vars.ASSISTED_SERVICE_SCHEME !== undefined) {
      throw new ConfigError('ASSISTED_SERVICE_HOST', 'must be set when ASSISTED_SERVICE_SCHEME is set');
    }
    return undefined;
  }
  const scheme = vars.ASSISTED_SERVICE_SCHEME ?? 'http';
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) {
    throw new ConfigError('ASSISTED_SERVICE_HOST', `must be "host" or "host:port" (got "${host}")`);
  }
  return `${scheme}://${host}`;
}
