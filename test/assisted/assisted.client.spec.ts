import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeAssistedService, type CallKind, type RecordedCall } from '../support/fake-assisted-service.js';
import {
  AssistedNotConfiguredError,
  AssistedUpstreamError,
  InvalidCredentialError,
  InvalidInfraEnvIdError,
} from '../../src/assisted/assisted.errors.js';
import type { AssistedClient } from '../../src/assisted/assisted.client.js';
import {
  configOf,
  createAssistedTestModule,
  IGNITION_AREA,
  INFRA_ENV_A,
  INFRA_ENV_B,
  RAMDISK_AREA,
  rejectionOf,
  type AssistedTestContext,
} from './assisted.test-helpers.js';
import type { Credential } from '../../src/assisted/credentials.js';

const API_KEY = 'api-key-5f1d2c9e7a';
const IMAGE_TOKEN = 'image-token-8b3e4a1f6c';
const AUTHORIZATION = 'Bearer authz-token-2d7c9e0b4a';
const SECRETS = [API_KEY, IMAGE_TOKEN, AUTHORIZATION, 'authz-token-2d7c9e0b4a'];

const IGNITION = JSON.stringify({ ignition: { version: '3.1.0' }, passwd: { users: [{ name: 'core' }] } });
const RAMDISK = randomBytes(3000);
const LAST_MODIFIED = new Date('2025-03-04T05:06:07Z');

let fake: FakeAssistedService;
let context: AssistedTestContext;
let client: AssistedClient;

beforeAll(async () => {
  fake = await new FakeAssistedService()
    .addInfraEnv({
      id: INFRA_ENV_A,
      ignition: IGNITION,
      lastModified: LAST_MODIFIED,
      ramdisk: RAMDISK,
      kernelArguments: '[{"operation":"append","value":"p1"},{"operation":"append","value":"key=\\"a b\\""}]',
      credentials: { apiKey: API_KEY, imageToken: IMAGE_TOKEN, authorization: AUTHORIZATION },
    })
    .addInfraEnv({ id: INFRA_ENV_B, ignition: '{}' })
    .listen();
  context = await createAssistedTestModule({ baseUrl: fake.url });
  client = context.client;
});

afterAll(async () => {
  await context.close();
  await fake.close();
});

function lastCall(kind: CallKind): RecordedCall {
  const call = fake.callsOf(kind).at(-1);
  if (call === undefined) throw new Error(`no ${kind} call recorded`);
  return call;
}

const CREDENTIALS: [string, Credential, (call: RecordedCall) => void][] = [
  [
    'api key',
    { kind: 'api-key', value: API_KEY },
    (call) => {
      expect(call.query.get('api_key')).toBe(API_KEY);
      expect(call.headers['image-token']).toBeUndefined();
      expect(call.headers.authorization).toBeUndefined();
    },
  ],
  [
    'image token',
    { kind: 'image-token', value: IMAGE_TOKEN },
    (call) => {
      expect(call.headers['image-token']).toBe(IMAGE_TOKEN);
      expect(call.query.has('api_key')).toBe(false);
      expect(call.headers.authorization).toBeUndefined();
    },
  ],
  [
    'Authorization header',
    { kind: 'authorization', value: AUTHORIZATION },
    (call) => {
      expect(call.headers.authorization).toBe(AUTHORIZATION);
      expect(call.query.has('api_key')).toBe(false);
      expect(call.headers['image-token']).toBeUndefined();
    },
  ],
];

describe.each(CREDENTIALS)('with an %s', (_name, credential, placedCorrectly) => {
  it('fetches the Ignition as its payload, with its Last-Modified, the credential in the right place', async () => {
    const result = await client.fetchIgnition(INFRA_ENV_A, credential, 'full-iso', IGNITION_AREA);
    expect((await configOf(result.payload)).toString('utf8')).toBe(IGNITION);
    expect(result.lastModified?.getTime()).toBe(LAST_MODIFIED.getTime());
    const call = lastCall('ignition');
    expect(call.method).toBe('GET');
    expect(call.path).toBe(`/api/assisted-install/v2/infra-envs/${INFRA_ENV_A}/downloads/files`);
    expect(call.query.get('file_name')).toBe('discovery.ign');
    expect(call.query.get('discovery_iso_type')).toBe('full-iso');
    placedCorrectly(call);
  });

  it('fetches the minimal initrd, the credential in the right place', async () => {
    const ramdisk = await client.fetchMinimalInitrd(INFRA_ENV_A, credential, RAMDISK_AREA);
    expect(ramdisk?.equals(RAMDISK)).toBe(true);
    expect(lastCall('minimal-initrd').path).toBe(
      `/api/assisted-install/v2/infra-envs/${INFRA_ENV_A}/downloads/minimal-initrd`,
    );
    placedCorrectly(lastCall('minimal-initrd'));
  });

  it('fetches and parses the kernel arguments, the credential in the right place', async () => {
    expect(await client.fetchKernelArguments(INFRA_ENV_A, credential)).toEqual(['p1', 'key="a b"']);
    expect(lastCall('infra-env').path).toBe(`/api/assisted-install/v2/infra-envs/${INFRA_ENV_A}`);
    placedCorrectly(lastCall('infra-env'));
  });
});

describe('AssistedClient', () => {
  it("sends no credential for kind none, and assisted-service's 401 reaches the caller", async () => {
    const error = await rejectionOf(client.fetchIgnition(INFRA_ENV_A, { kind: 'none' }, 'full-iso', IGNITION_AREA));
    expect(error).toBeInstanceOf(AssistedUpstreamError);
    expect((error as AssistedUpstreamError).status).toBe(401);
    const call = lastCall('ignition');
    expect(call.query.has('api_key')).toBe(false);
    expect(call.headers['image-token']).toBeUndefined();
    expect(call.headers.authorization).toBeUndefined();
  });

  it('passes each ISO type as discovery_iso_type, and none for the PXE initrd', async () => {
    for (const isoType of ['full-iso', 'minimal-iso', 'disconnected-iso'] as const) {
      await client.fetchIgnition(INFRA_ENV_B, { kind: 'none' }, isoType, IGNITION_AREA);
      expect(lastCall('ignition').query.get('discovery_iso_type')).toBe(isoType);
    }
    const pxe = await client.fetchIgnition(INFRA_ENV_B, { kind: 'none' }, undefined, IGNITION_AREA);
    expect(lastCall('ignition').query.has('discovery_iso_type')).toBe(false);
    expect(pxe.lastModified).toBeUndefined();
  });

  it('returns undefined for a 204 ramdisk and no arguments when the infra-env has none', async () => {
    expect(await client.fetchMinimalInitrd(INFRA_ENV_B, { kind: 'none' }, RAMDISK_AREA)).toBeUndefined();
    expect(fake.callsOf('minimal-initrd').at(-1)?.path).toContain(INFRA_ENV_B);
    expect(await client.fetchKernelArguments(INFRA_ENV_B, { kind: 'none' })).toEqual([]);
  });

  it.each(['not-a-uuid', INFRA_ENV_A.toUpperCase(), `../${INFRA_ENV_A}`, `${INFRA_ENV_A}/downloads`, ''])(
    'refuses the id %j before any call is made',
    async (id) => {
      const before = fake.calls.length;
      const error = await rejectionOf(client.fetchIgnition(id, { kind: 'none' }, 'full-iso', IGNITION_AREA));
      expect(error).toBeInstanceOf(InvalidInfraEnvIdError);
      expect(fake.calls.length).toBe(before);
    },
  );

  it.each([
    ['image token', { kind: 'image-token', value: '€hdr.payload.sig€' }],
    ['image token', { kind: 'image-token', value: 'hdr\u0000.payload.sig' }],
    ['Authorization header', { kind: 'authorization', value: 'Bearer a\r\nX-Injected: 1' }],
  ] as const)(
    'refuses an %s no HTTP header can carry with 400, before any call, instead of altering it',
    async (what, credential) => {
      const before = fake.calls.length;
      const error = await rejectionOf(client.fetchIgnition(INFRA_ENV_B, credential, 'full-iso', IGNITION_AREA));
      expect(error).toBeInstanceOf(InvalidCredentialError);
      expect((error as InvalidCredentialError).status).toBe(400);
      expect(error.message).toContain(`the ${what} cannot be passed to assisted-service`);
      expect(error.message).not.toContain('payload');
      expect(fake.calls.length).toBe(before);
    },
  );

  it('fails with 500 and a clear message when assisted-service is not configured', async () => {
    const unconfigured = await createAssistedTestModule({ baseUrl: undefined });
    try {
      const error = await rejectionOf(unconfigured.client.fetchKernelArguments(INFRA_ENV_A, { kind: 'none' }));
      expect(error).toBeInstanceOf(AssistedNotConfiguredError);
      expect((error as AssistedNotConfiguredError).status).toBe(500);
      expect(error.message).toContain('ASSISTED_SERVICE_URL');
    } finally {
      await unconfigured.close();
    }
  });

  it('logs every call at debug with method, path, status and duration, and never a credential', () => {
    const lines = context.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    const calls = lines.filter((line) => line.context === 'AssistedClient');
    expect(calls.length).toBeGreaterThanOrEqual(fake.calls.length);
    expect(calls.every((line) => line.level === 'debug')).toBe(true);
    expect(calls).toContainEqual(
      expect.objectContaining({
        method: 'GET',
        path: `/api/assisted-install/v2/infra-envs/${INFRA_ENV_A}/downloads/files`,
        status: 200,
        durationMs: expect.any(Number),
      }),
    );
    expect(calls).toContainEqual(expect.objectContaining({ status: 401 }));
    const everything = context.logs.join('\n');
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
    expect(everything).not.toContain('api_key');
  });
});
