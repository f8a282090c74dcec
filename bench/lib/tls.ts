// The throwaway certificate of the HTTPS rows: one CA-signed pair (ECDSA P-256, for 127.0.0.1) that the service
// and the baseline both serve, and the CA the measuring client verifies it against.
import { mkdir } from 'node:fs/promises';
import { makeCertificates } from '../../test/support/certificates.js';

export interface BenchTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM of the CA that signed the certificate: what the client trusts. */
  readonly caPem: string;
}

/** Made fresh per run (openssl CLI, as the TLS tests do): nothing to keep or to expire between runs. */
export async function makeBenchTls(dir: string): Promise<BenchTls> {
  await mkdir(dir, { recursive: true });
  const { certFile, keyFile, caPem } = await makeCertificates(dir, 'bench');
  return { certFile, keyFile, caPem };
}
