import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Server as HttpsServer } from 'node:https';
import { errorMessage, failure } from '../common/service-error.js';
import type { ServerConfig } from '../config/app-config.js';
import type { JsonLogger } from '../logging/json-logger.js';

type TlsFiles = NonNullable<ServerConfig['tls']>;
/** The PEM certificate (with its chain) and key; TLS 1.2 or later, also after setSecureContext (it resets the rest). */
type TlsOptions = Readonly<Record<'cert' | 'key', Buffer>> & { readonly minVersion: 'TLSv1.2' };

/** Read at start-up (the configuration has already checked the files) and on each poll. */
export async function readTlsOptions(files: TlsFiles): Promise<TlsOptions> {
  const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  return { cert, key, minVersion: 'TLSv1.2' };
}

function tlsPairProblem({ cert, key }: TlsOptions): string | undefined {
  let belongs = false;
  const checkKey = (): boolean => (belongs = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key)));
  return (
    failure('the certificate is not PEM', () => new X509Certificate(cert)) ??
    failure('the key is not a PEM private key', checkKey) ??
    (belongs ? undefined : 'the key does not belong to the certificate')
  );
}

/**
 * Serves a changed certificate and key to new connections. Polled, not watched: a Kubernetes Secret is rotated by
 * swapping a symlink, which a watch does not see. A pair that does not parse or match (a rotation half done) is not
 * served: a warning is logged once per problem and the next poll tries again.
 */
export function reloadCertificates(
  server: HttpsServer,
  files: TlsFiles,
  initial: TlsOptions,
  logger: JsonLogger,
  intervalMs = 10_000,
): void {
  const context = 'CertificateReloader';
  let served = initial;
  const update = async (): Promise<string | undefined> => {
    const pair = await readTlsOptions(files).catch((error: unknown) => errorMessage(error));
    if (typeof pair === 'string') return `cannot read the certificate or key: ${pair}`;
    if (pair.cert.equals(served.cert) && pair.key.equals(served.key)) return undefined;
    const problem =
      tlsPairProblem(pair) ?? failure('the pair cannot be used for TLS', () => server.setSecureContext(pair));
    if (problem !== undefined) return problem;
    served = pair;
    const { subject, validTo, fingerprint256 } = new X509Certificate(pair.cert);
    logger.record('info', context, 'serving a new TLS certificate', { subject, validTo, sha256: fingerprint256 });
  };
  let polling = false;
  let lastProblem: string | undefined;
  const report = (problem: string | undefined): void => {
    if (problem !== undefined && problem !== lastProblem)
      logger.warn(`new TLS certificate not used: ${problem}; still serving the previous one, checking again`, context);
    lastProblem = problem;
  };
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    void update()
      .then(report)
      .finally(() => (polling = false));
  }, intervalMs).unref();
  server.once('close', () => clearInterval(timer));
}
