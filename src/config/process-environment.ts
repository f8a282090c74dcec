import type { AppConfig } from './app-config.js';
import { loadConfig } from './load-config.js';

/** The one place the process environment is read. */
export function loadConfigFromProcessEnvironment(): AppConfig {
  return loadConfig(process.env);
}
