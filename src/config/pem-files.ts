import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './config.error.js';

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Reads a CA bundle and checks every certificate in it parses, so a wrong file fails at start, not at first use. */
export function readTrustedCa(variable: string, path: string): string {
  const pem = readConfigFile(variable, path);
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) throw new ConfigError(variable, `"${path}" holds no PEM certificate`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new ConfigError(variable, `"${path}" holds an unreadable certificate: ${describe(error)}`);
    }
  }
  return pem;
}

/** The certificate and key must parse and belong together. */
export function validateTlsPair(certFile: string, keyFile: string): void {
  const cert = readConfigFile('HTTPS_CERT_FILE', certFile);
  const key = readConfigFile('HTTPS_KEY_FILE', keyFile);
  try {
    new X509Certificate(cert);
  } catch (error) {
    throw new ConfigError('HTTPS_CERT_FILE', `"${certFile}" is not a PEM certificate: ${describe(error)}`);
  }
  try {
    createPrivateKey(key);
  } catch (error) {
    throw new ConfigError('HTTPS_KEY_FILE', `"${keyFile}" is not a PEM private key: ${describe(error)}`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new ConfigError(
      'HTTPS_KEY_FILE',
      `"${keyFile}" does not match the certificate in HTTPS_CERT_FILE: ${describe(error)}`,
    );
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads a file named by a variable; so a read failure names the variable. */
export function readConfigFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(variable, `cannot read "${path}": ${error instanceof Error ? error.message : String(error)}`);
  }
}
