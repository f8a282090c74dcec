import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeAssistedService } from '../support/fake-assisted-service.js';
import {
  AssistedInvalidResponseError,
  AssistedTimeoutError,
  AssistedUpstreamError,
  UpstreamBudgetExceededError,
} from '../../src/assisted/assisted.errors.js';
import type { Credential } from '../../src/assisted/credentials.js';
import { IgnitionTooLargeError, RamdiskAreaError } from '../../src/iso/index.js';
import {
  configOf,
  createAssistedTestModule,
  IGNITION_AREA,
  INFRA_ENV_A,
  INFRA_ENV_B,
  RAMDISK_AREA,
  rejectionOf,
  until,
  type AssistedTestContext,
} from './assisted.test-helpers.js';

const MiB = 1024 * 1024;
const NONE: Credential = { kind: 'none' };
/** The budget of the module under test: two 600 KiB bodies cannot be read at once. */
const BUDGET = 1 * MiB;
/** The timeout of the client that meets a body that never ends; every other answer races no clock. */
const TIMEOUT_MS = 1_500;
const PATIENT_MS = 30_000;

/**
 * Far larger than what loopback socket buffers can take in (up to ~36 MiB here): a response abandoned by the
 * client stays unfinished on the server's side, so `abandoned` proves the rest was never transferred.
 */
const BEYOND_SOCKET_BUFFERS = 64 * MiB;

let fake: FakeAssistedService;
let context: AssistedTestContext;

beforeAll(async () => {
  fake = await new FakeAssistedService()
    // Random bytes in base64: about 48 MiB that compress to about 36 MiB, nothing like 256 KiB.
    .addInfraEnv({
      id: INFRA_ENV_A,
      ignition: Buffer.from(randomBytes(36 * MiB).toString('base64')),
      ramdisk: Buffer.alloc(BEYOND_SOCKET_BUFFERS, 1),
    })
    .addInfraEnv({ id: INFRA_ENV_B, ignition: '{"ignition":{"version":"3.2.0"}}' })
    .listen();
  context = await createAssistedTestModule({
    baseUrl: fake.url,
    client: { timeoutMs: PATIENT_MS, maxBodyBytesInFlight: BUDGET },
  });
});

afterEach(async () => {
  for (const kind of ['ignition', 'minimal-initrd', 'infra-env'] as const) fake.setFault(kind, undefined);
  // Whatever a test did, every reservation is back.
  await until(() => context.budget.inUse === 0, 'the body budget to be released');
});

afterAll(async () => {
  await context.close();
  await fake.close();
});

describe('bounded assisted-service bodies', () => {
  it('gives up on an Ignition as soon as it compresses past the area, and abandons the response', async () => {
    const error = await rejectionOf(context.client.fetchIgnition(INFRA_ENV_A, NONE, 'full-iso', IGNITION_AREA));
    expect(error).toBeInstanceOf(IgnitionTooLargeError);
    expect(error.message).toBe(
      "Ignition payload is more than 262144 bytes, larger than the ISO's 262144-byte Ignition area",
    );
    await until(() => fake.abandoned.includes('ignition'), 'the Ignition response to be abandoned');
  });

  it('reads a large Ignition that compresses into the area whole, and returns its payload only', async () => {
    const large = `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"contents":{"source":"data:,${'A'.repeat(6 * MiB)}"}}]}}`;
    fake.setFault('ignition', { kind: 'body', body: large });
    // 6 MiB is more than the 1 MiB budget: a body that fits its area but not the budget is a 503, not a 400.
    const busy = await rejectionOf(context.client.fetchIgnition(INFRA_ENV_B, NONE, 'full-iso', IGNITION_AREA));
    expect(busy).toBeInstanceOf(UpstreamBudgetExceededError);
    const roomy = await createAssistedTestModule({ baseUrl: fake.url, client: { maxBodyBytesInFlight: 16 * MiB } });
    try {
      const result = await roomy.client.fetchIgnition(INFRA_ENV_B, NONE, 'full-iso', IGNITION_AREA);
      expect(result.payload.length).toBeLessThan(IGNITION_AREA);
      expect((await configOf(result.payload)).toString()).toBe(large);
      expect(roomy.budget.inUse).toBe(0);
    } finally {
      await roomy.close();
    }
  });

  it('refuses a ramdisk whose declared length passes the area without reading it', async () => {
    const error = await rejectionOf(context.client.fetchMinimalInitrd(INFRA_ENV_A, NONE, RAMDISK_AREA));
    expect(error).toBeInstanceOf(RamdiskAreaError);
    expect(error.message).toBe(
      `the static network ramdisk is ${BEYOND_SOCKET_BUFFERS} bytes, larger than the ${RAMDISK_AREA}-byte ramdisk area`,
    );
    await until(() => fake.abandoned.includes('minimal-initrd'), 'the ramdisk response to be abandoned');
  });

  it('stops reading an undeclared ramdisk once it passes the area', async () => {
    fake.setFault('minimal-initrd', { kind: 'partial', body: Buffer.alloc(1 * MiB + 70_000, 2) });
    const roomy = await createAssistedTestModule({ baseUrl: fake.url });
    try {
      const error = await rejectionOf(roomy.client.fetchMinimalInitrd(INFRA_ENV_A, NONE, RAMDISK_AREA));
      expect(error).toBeInstanceOf(RamdiskAreaError);
      expect(error.message).toBe(
        `the static network ramdisk is more than ${RAMDISK_AREA} bytes, larger than the ${RAMDISK_AREA}-byte ramdisk area`,
      );
      expect(roomy.budget.inUse).toBe(0);
    } finally {
      await roomy.close();
    }
  });

  it('refuses an infra-env over 1 MiB as a bad answer (502) and abandons the response', async () => {
    fake.setFault('infra-env', { kind: 'body', body: `{"kernel_arguments":"${'x'.repeat(BEYOND_SOCKET_BUFFERS)}"}` });
    const error = await rejectionOf(context.client.fetchKernelArguments(INFRA_ENV_A, NONE));
    expect(error).toBeInstanceOf(AssistedInvalidResponseError);
    expect((error as AssistedInvalidResponseError).status).toBe(502);
    expect(error.message).toBe(
      "assisted-service's response for the infra-env is larger than the 1048576-byte limit; refusing it",
    );
    await until(() => fake.abandoned.includes('infra-env'), 'the infra-env response to be abandoned');
  });

  it('reads only the start of an error body: the status still reaches the caller', async () => {
    fake.setFault('infra-env', { kind: 'status', status: 500, body: 'x'.repeat(2 * MiB) });
    const error = await rejectionOf(context.client.fetchKernelArguments(INFRA_ENV_A, NONE));
    expect(error).toBeInstanceOf(AssistedUpstreamError);
    expect((error as AssistedUpstreamError).status).toBe(500);
    // The reason is in a JSON body cut at 64 KiB: unparseable, so left out rather than guessed.
    expect(error.message).toBe('assisted-service answered 500 to the request for the infra-env');
  });
});

describe('the budget of bodies in flight', () => {
  it('fails a request with 503 and Retry-After when concurrent bodies would pass it, and is empty afterwards', async () => {
    // 600 KiB that compress well (they fit the Ignition area), then silence: the first call holds its bytes.
    fake.setFault('ignition', { kind: 'partial', body: Buffer.from(`{"data":"${'z'.repeat(600 * 1024)}`) });
    const holder = new AbortController();
    const holding = rejectionOf(
      context.client.fetchIgnition(INFRA_ENV_B, NONE, 'full-iso', IGNITION_AREA, holder.signal),
    );
    await until(() => context.budget.inUse >= 600 * 1024, 'the first body to be read');
    const error = await rejectionOf(
      context.client.fetchIgnition(INFRA_ENV_B, { kind: 'api-key', value: 'second' }, 'full-iso', IGNITION_AREA),
    );
    expect(error).toBeInstanceOf(UpstreamBudgetExceededError);
    const refusal = error as UpstreamBudgetExceededError;
    expect(refusal.status).toBe(503);
    expect(refusal.headers['Retry-After']).toMatch(/^\d+$/);
    expect(refusal.message).toMatch(/1048576-byte memory budget is used up.*try again/);
    // The refused body gave its part back at once; the holder still has its own.
    expect(context.budget.inUse).toBeGreaterThanOrEqual(600 * 1024);
    expect(context.budget.inUse).toBeLessThanOrEqual(BUDGET);
    holder.abort();
    expect((await holding).name).toBe('AbortError');
    expect(context.budget.inUse).toBe(0);
    await until(() => fake.abandoned.filter((kind) => kind === 'ignition').length >= 2, 'both responses to be closed');
  });

  it('gives the bytes back when a body times out', async () => {
    fake.setFault('ignition', { kind: 'partial', body: Buffer.from(`{"data":"${'z'.repeat(300 * 1024)}`) });
    const timing = await createAssistedTestModule({
      baseUrl: fake.url,
      client: { timeoutMs: TIMEOUT_MS, maxBodyBytesInFlight: BUDGET },
    });
    try {
      const error = await rejectionOf(timing.client.fetchIgnition(INFRA_ENV_B, NONE, 'full-iso', IGNITION_AREA));
      expect(error).toBeInstanceOf(AssistedTimeoutError);
      expect(timing.budget.inUse).toBe(0);
    } finally {
      await timing.close();
    }
    expect(context.budget.inUse).toBe(0);
  });

  it('gives the bytes back after a successful call and after an error status', async () => {
    await context.client.fetchIgnition(INFRA_ENV_B, NONE, 'full-iso', IGNITION_AREA);
    expect(context.budget.inUse).toBe(0);
    fake.setFault('ignition', { kind: 'status', status: 403, body: 'no' });
    expect(
      await rejectionOf(context.client.fetchIgnition(INFRA_ENV_B, NONE, 'full-iso', IGNITION_AREA)),
    ).toBeInstanceOf(AssistedUpstreamError);
    expect(context.budget.inUse).toBe(0);
  });
});
