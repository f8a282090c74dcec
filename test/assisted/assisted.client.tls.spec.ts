import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeCertificates, type CertificateFiles } from '../support/certificates.js';
import { FakeAssistedService } from '../support/fake-assisted-service.js';
import { AssistedUnreachableError } from '../../src/assisted/assisted.errors.js';
import {
  configOf,
  createAssistedTestModule,
  IGNITION_AREA,
  INFRA_ENV_A,
  rejectionOf,
} from './assisted.test-helpers.js';

const IMAGE_TOKEN = 'tls-image-token-77c1e9';

let work: string;
let certificates: CertificateFiles;
let otherCa: CertificateFiles;
let fake: FakeAssistedService;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'assisted-tls-'));
  certificates = await makeCertificates(work, 'assisted');
  otherCa = await makeCertificates(work, 'other');
  fake = await new FakeAssistedService({ cert: certificates.certPem, key: certificates.keyPem })
    .addInfraEnv({
      id: INFRA_ENV_A,
      ignition: '{"ignition":{"version":"3.1.0"}}',
      credentials: { imageToken: IMAGE_TOKEN },
    })
    .listen();
});

afterAll(async () => {
  await fake.close();
  await rm(work, { recursive: true, force: true });
});

async function fetchWithCa(trustedCaPem: string | undefined): Promise<Buffer> {
  const context = await createAssistedTestModule({
    baseUrl: fake.url,
    ...(trustedCaPem !== undefined && { trustedCaPem }),
  });
  try {
    const result = await context.client.fetchIgnition(
      INFRA_ENV_A,
      { kind: 'image-token', value: IMAGE_TOKEN },
      'full-iso',
      IGNITION_AREA,
    );
    return await configOf(result.payload);
  } finally {
    await context.close();
  }
}

describe('AssistedClient over HTTPS', () => {
  it('trusts the configured extra CA', async () => {
    expect(fake.url).toMatch(/^https:/);
    const ignition = await fetchWithCa(certificates.caPem);
    expect(JSON.parse(ignition.toString('utf8'))).toEqual({ ignition: { version: '3.1.0' } });
    expect(fake.callsOf('ignition').at(-1)?.headers['image-token']).toBe(IMAGE_TOKEN);
  });

  it.each([
    ['no extra CA', undefined],
    ['a different CA', 'other'],
  ])('refuses the server certificate with %s: 502 naming the certificate problem', async (_name, which) => {
    const before = fake.callsOf('ignition').length;
    const error = await rejectionOf(fetchWithCa(which === undefined ? undefined : otherCa.caPem));
    expect(error).toBeInstanceOf(AssistedUnreachableError);
    expect((error as AssistedUnreachableError).status).toBe(502);
    expect(error.message).toMatch(/certificate/i);
    // The handshake failed, so no request reached the server.
    expect(fake.callsOf('ignition').length).toBe(before);
  });
});
