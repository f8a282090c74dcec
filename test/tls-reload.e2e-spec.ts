import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildFixtureIso } from './fixtures/iso-fixture.js';
import { makeCertificates, type CertificateFiles } from './support/certificates.js';
import { startTestApp, waitFor, type TestApp } from './support/test-app.js';

let work: string;
let secret: string;
let first: CertificateFiles;
let second: CertificateFiles;
let third: CertificateFiles;
let app: TestApp;
let port: number;
let version = 0;

/**
 * Writes a pair the way Kubernetes updates a mounted Secret: into a new timestamped directory, then one atomic
 * rename of the `..data` symlink over to it. `tls.crt` and `tls.key` are symlinks through `..data`, so the file
 * names the service was given never change, only what they lead to.
 */
async function publish(cert: string, key: string): Promise<void> {
  version += 1;
  const dir = `..${version}`;
  await mkdir(join(secret, dir));
  await writeFile(join(secret, dir, 'tls.crt'), cert);
  await writeFile(join(secret, dir, 'tls.key'), key);
  await symlink(dir, join(secret, '..data_tmp'));
  await rename(join(secret, '..data_tmp'), join(secret, '..data'));
}

function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

function openTls(): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: [first.caPem, second.caPem, third.caPem] }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** The certificate a new connection is shown. */
async function servedFingerprint(): Promise<string> {
  const socket = await openTls();
  try {
    return socket.getPeerX509Certificate()?.fingerprint256 ?? '';
  } finally {
    socket.destroy();
  }
}

/** One GET on an open connection, read up to the end of its body; the status. */
function get(socket: TLSSocket, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = received.subarray(0, headEnd).toString('latin1');
      if (received.length < headEnd + 4 + Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0));
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

function warningsOf(context: string): Array<Record<string, unknown>> {
  return app.logs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.context === context && line.level === 'warn');
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tls-reload-'));
  secret = join(work, 'secret');
  await mkdir(secret);
  const iso = await buildFixtureIso({ outPath: join(work, 'base.iso') });
  [first, second, third] = await Promise.all([
    makeCertificates(work, 'first'),
    makeCertificates(work, 'second'),
    makeCertificates(work, 'third'),
  ]);
  await publish(first.certPem, first.keyPem);
  await symlink('..data/tls.crt', join(secret, 'tls.crt'));
  await symlink('..data/tls.key', join(secret, 'tls.key'));
  app = await startTestApp(
    {
      DATA_DIR: join(work, 'data'),
      DATA_TEMP_DIR: work,
      OS_IMAGES: JSON.stringify([
        { openshift_version: '4.18', cpu_architecture: 'x86_64', url: `file://${iso.path}`, version: '418.94.1-0' },
      ]),
      HTTPS_CERT_FILE: join(secret, 'tls.crt'),
      HTTPS_KEY_FILE: join(secret, 'tls.key'),
    },
    { tlsReloadIntervalMs: 100 },
  );
  port = Number(new URL(app.baseUrl).port);
});

afterAll(async () => {
  await app.close();
  await rm(work, { recursive: true, force: true });
});

describe('a certificate rotated under a running HTTPS listener', () => {
  it('serves the new pair to new connections while an open keep-alive connection goes on', async () => {
    const kept = await openTls();
    try {
      // Read at once: Node lets go of the peer certificate once the connection is in use.
      expect(kept.getPeerX509Certificate()?.fingerprint256).toBe(fingerprint(first.certPem));
      expect(await get(kept, '/live')).toBe(200);

      await publish(second.certPem, second.keyPem);
      await waitFor(
        async () => ((await servedFingerprint()) === fingerprint(second.certPem) ? true : undefined),
        20_000,
        'the second certificate',
      );
      // Opened before the rotation, still usable after it: nothing was restarted or dropped.
      expect(await get(kept, '/live')).toBe(200);
      expect(
        app.logs.some(
          (line) => line.includes('"context":"CertificateReloader"') && line.includes(fingerprint(second.certPem)),
        ),
      ).toBe(true);
    } finally {
      kept.destroy();
    }
  });

  it('keeps the served pair through a half-finished rotation, and takes the new one once it is complete', async () => {
    // The new certificate is there, its key is not yet: the old key does not match it.
    await publish(third.certPem, second.keyPem);
    await waitFor(
      () =>
        warningsOf('CertificateReloader').some((line) => String(line.msg).includes('does not belong'))
          ? true
          : undefined,
      20_000,
      'the mismatch warning',
    );
    expect(await servedFingerprint()).toBe(fingerprint(second.certPem));

    // A key that is not PEM at all is refused the same way.
    await publish(third.certPem, 'not a key');
    await waitFor(
      () =>
        warningsOf('CertificateReloader').some((line) => String(line.msg).includes('not a PEM private key'))
          ? true
          : undefined,
      20_000,
      'the parse warning',
    );
    expect(await servedFingerprint()).toBe(fingerprint(second.certPem));

    await publish(third.certPem, third.keyPem);
    await waitFor(
      async () => ((await servedFingerprint()) === fingerprint(third.certPem) ? true : undefined),
      20_000,
      'the third certificate',
    );
    expect(await readFile(join(secret, 'tls.crt'), 'utf8')).toBe(third.certPem);
  });
});
