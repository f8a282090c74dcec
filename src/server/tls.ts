import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Server as HttpsServer } from 'node:https';
import type { JsonLogger } from '../logging/json-logger.js';

/** Kubernetes updates a mounted Secret within about a minute; checking every 10 s adds little to that. */
export const DEFAULT_TLS_RELOAD_INTERVAL_MS = 10_000;

type TlsFiles = Readonly<Record<'certFile' | 'keyFile', string>>;
/** The PEM certificate (with its chain) and key; TLS 1.2 or later, not left to Node's default. */
type TlsOptions = Readonly<Record<'cert' | 'key', Buffer>> & { readonly minVersion: 'TLSv1.2' };

/** Read once at start-up: the configuration has already checked the files. */
export function readTlsOptions(files: TlsFiles): TlsOptions {
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile), minVersion: 'TLSv1.2' };
}

function tlsPairProblem(pair: TlsOptions): string | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pair.cert);
  } catch (error) {
    return `the certificate is not PEM: ${describe(error)}`;
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(pair.key))) return 'the key does not belong to the certificate';
  } catch (error) {
    return `the key is not a PEM private key: ${describe(error)}`;
  }
  return undefined;
}

/**
 * Serves a changed certificate and key to new connections, without a restart. The files are polled, not watched: a
 * Kubernetes Secret is rotated by swapping a symlink, which a watch does not see. A pair that does not parse or match
 * (a rotation half done) is not served: a warning is logged once per problem and the next poll tries again.
 */
export function reloadCertificates(
  server: HttpsServer,
  files: TlsFiles,
  initial: TlsOptions,
  logger: JsonLogger,
  intervalMs: number,
): void {
  const context = 'CertificateReloader';
  let served = initial;
  let lastProblem: string | undefined;
  const keepServed = (problem: string): void => {
    if (problem !== lastProblem)
      logger.warn(`new TLS certificate not used: ${problem}; still serving the previous one, checking again`, context);
    lastProblem = problem;
  };
  const check = async (): Promise<void> => {
    let pair: TlsOptions;
    try {
      const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
      // setSecureContext resets what it is not given.
      pair = { cert, key, minVersion: 'TLSv1.2' };
    } catch (error) {
      return keepServed(`cannot read the certificate or key: ${describe(error)}`);
    }
    if (pair.cert.equals(served.cert) && pair.key.equals(served.key)) return void (lastProblem = undefined);
    const problem = tlsPairProblem(pair);
    if (problem !== undefined) return keepServed(problem);
    try {
      server.setSecureContext(pair);
    } catch (error) {
      return keepServed(`the pair cannot be used for TLS: ${describe(error)}`);
    }
    served = pair;
    lastProblem = undefined;
    const { subject, validTo, fingerprint256 } = new X509Certificate(pair.cert);
    logger.record('info', context, 'serving a new TLS certificate', { subject, validTo, sha256: fingerprint256 });
  };
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    void check().finally(() => (polling = false));
  }, intervalMs).unref();
  server.once('close', () => clearInterval(timer));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
