import { ConfigError } from './config.error.js';

/**
 * `ALLOWED_DOMAINS` entries: `*`, an origin (`https://console.example.com[:port]`) or a host name, optionally with
 * a leading wildcard label (`*.example.com`). Anything else is refused at start rather than silently never matching.
 */
export function parseAllowedDomains(items: readonly string[]): string[] {
  for (const item of items) {
    if (!isAllowedDomain(item)) {
      throw new ConfigError(
        'ALLOWED_DOMAINS',
        `"${item}" is not "*", an origin such as https://host[:port], or a host name`,
      );
    }
  }
  return [...items];
}

const HOST_PATTERN = /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$/;

function isAllowedDomain(item: string): boolean {
  if (item === '*' || HOST_PATTERN.test(item)) return true;
  try {
    const url = new URL(item);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === item.replace(/\/$/, '');
  } catch {
    return false;
  }
}
