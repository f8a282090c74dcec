import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Server as HttpsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import type { JsonLogger } from '../logging/json-logger.js';

/** TLS 1.2 is the floor, stated here rather than left to Node's default, which could change under the service. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** Kubernetes updates a mounted Secret within about a minute; checking every 10 s adds little to that. */
export const DEFAULT_TLS_RELOAD_INTERVAL_MS = 10_000;

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** The PEM contents of a certificate (with its chain) and its key. */
export interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Read once at start-up (the configuration already checked the files). */
export function readTlsPair(files: TlsFiles): TlsPair {
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
}

/** What the HTTPS listener is given, at start and at every reload: `setSecureContext` resets what it is not given. */
export function tlsOptions(pair: TlsPair): SecureContextOptions {
  return { cert: pair.cert, key: pair.key, minVersion: TLS_MIN_VERSION };
}

/** Why a pair cannot be served (unreadable, or the key belongs to another certificate), or undefined when it can. */
export function tlsPairProblem(pair: TlsPair): string | undefined {
  let certificate: X509Certificate;
  let key: KeyObject;
  try {
    certificate = new X509Certificate(pair.cert);
  } catch (error) {
    return `the certificate is not PEM: ${describe(error)}`;
  }
  try {
    key = createPrivateKey(pair.key);
  } catch (error) {
    return `the key is not a PEM private key: ${describe(error)}`;
  }
  return certificate.checkPrivateKey(key) ? undefined : 'the key does not belong to the certificate';
}

/**
 * Serves a new certificate and key when the files change, without a restart: `setSecureContext` applies to new
 * connections, and open ones keep theirs. The files are polled, not watched: a Kubernetes Secret volume is
 * rotated by swapping a symlink to a new directory, which file watches on the old targets do not see. Each poll reads
 * both files (a few KiB) and compares contents, so no rename, copy or clock skew can hide a change.
 *
 * A new pair is checked first. One that does not parse or does not match (a half-finished rotation: the
 * certificate written, the key not yet) is not served: the listener keeps the pair it has, a warning is logged once
 * per problem, and the next poll tries again. Polling stops when the server closes.
 */
export class CertificateReloader {
  private served: TlsPair;
  private rejected: TlsPair | undefined;
  private lastWarning: string | undefined;
  private polling = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: HttpsServer,
    private readonly files: TlsFiles,
    initial: TlsPair,
    private readonly logger: JsonLogger,
  ) {
    this.served = initial;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.poll(), intervalMs).unref();
    this.server.once('close', () => this.stop());
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check of the files; a poll still reading when the next is due makes that one a no-op. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await this.check();
    } finally {
      this.polling = false;
    }
  }

  private async check(): Promise<void> {
    let pair: TlsPair;
    try {
      const [cert, key] = await Promise.all([readFile(this.files.certFile), readFile(this.files.keyFile)]);
      pair = { cert, key };
    } catch (error) {
      return this.keepServed(`cannot read the certificate or key: ${describe(error)}`);
    }
    if (samePair(pair, this.served)) {
      this.lastWarning = undefined;
      return;
    }
    if (this.rejected !== undefined && samePair(pair, this.rejected)) return;
    const problem = tlsPairProblem(pair);
    if (problem !== undefined) {
      this.rejected = pair;
      return this.keepServed(problem);
    }
    try {
      this.server.setSecureContext(tlsOptions(pair));
    } catch (error) {
      this.rejected = pair;
      return this.keepServed(`the pair cannot be used for TLS: ${describe(error)}`);
    }
    this.served = pair;
    this.rejected = undefined;
    this.lastWarning = undefined;
    const certificate = new X509Certificate(pair.cert);
    this.logger.record('info', CertificateReloader.name, 'serving a new TLS certificate', {
      subject: certificate.subject,
      validTo: certificate.validTo,
      sha256: certificate.fingerprint256,
    });
  }

  private keepServed(problem: string): void {
    if (problem === this.lastWarning) return;
    this.lastWarning = problem;
    this.logger.warn(
      `new TLS certificate not used: ${problem}; still serving the previous one, checking again`,
      CertificateReloader.name,
    );
  }
}

function samePair(a: TlsPair, b: TlsPair): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
