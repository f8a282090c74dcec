import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeAssistedService, type CallKind } from '../support/fake-assisted-service.js';
import {
  AssistedInvalidResponseError,
  AssistedServiceError,
  AssistedTimeoutError,
  AssistedUnreachableError,
  AssistedUpstreamError,
} from '../../src/assisted/assisted.errors.js';
import type { AssistedClient } from '../../src/assisted/assisted.client.js';
import {
  createAssistedTestModule,
  IGNITION_AREA,
  INFRA_ENV_A,
  INFRA_ENV_B,
  INFRA_ENV_C,
  RAMDISK_AREA,
  rejectionOf,
  until,
  type AssistedTestContext,
} from './assisted.test-helpers.js';
import type { Credential } from '../../src/assisted/credentials.js';

const API_KEY = 'api-key-error-case-0a1b2c3d';
const CREDENTIAL: Credential = { kind: 'api-key', value: API_KEY };
/** The timeout of `timing`, the client that sees only answers that never come (hang, stall): they take this long. */
const TIMEOUT_MS = 300;
/** The timeout of every other client here: far beyond any answer, so no outcome races the clock on a busy machine. */
const PATIENT_MS = 30_000;

let fake: FakeAssistedService;
let context: AssistedTestContext;
let client: AssistedClient;
let timing: AssistedTestContext;

beforeAll(async () => {
  fake = await new FakeAssistedService()
    .addInfraEnv({ id: INFRA_ENV_A, ignition: '{"ignition":{}}', ramdisk: Buffer.alloc(3000, 7) })
    .addInfraEnv({ id: INFRA_ENV_B, ignition: '{}', kernelArguments: '[{"operation":"replace","value":"p1"}]' })
    .addInfraEnv({ id: INFRA_ENV_C, ignition: '{}', kernelArguments: 'append p1' })
    .listen();
  context = await createAssistedTestModule({ baseUrl: fake.url, client: { timeoutMs: PATIENT_MS } });
  client = context.client;
  timing = await createAssistedTestModule({ baseUrl: fake.url, client: { timeoutMs: TIMEOUT_MS } });
});

afterEach(() => {
  for (const kind of ['ignition', 'minimal-initrd', 'infra-env'] as const) fake.setFault(kind, undefined);
});

afterAll(async () => {
  await context.close();
  await timing.close();
  await fake.close();
});

const CALLS: [CallKind, (signal?: AbortSignal, using?: AssistedClient) => Promise<unknown>][] = [
  [
    'ignition',
    (signal, using = client) => using.fetchIgnition(INFRA_ENV_A, CREDENTIAL, 'minimal-iso', IGNITION_AREA, signal),
  ],
  [
    'minimal-initrd',
    (signal, using = client) => using.fetchMinimalInitrd(INFRA_ENV_A, CREDENTIAL, RAMDISK_AREA, signal),
  ],
  ['infra-env', (signal, using = client) => using.fetchKernelArguments(INFRA_ENV_A, CREDENTIAL, signal)],
];

describe.each(CALLS)('the %s call', (kind, run) => {
  it.each([401, 403, 404, 500, 503])(
    "propagates an upstream %i with its status and assisted-service's reason",
    async (status) => {
      fake.setFault(kind, { kind: 'status', status, body: `upstream says no (${status})` });
      const error = await rejectionOf(run());
      expect(error).toBeInstanceOf(AssistedUpstreamError);
      expect((error as AssistedUpstreamError).status).toBe(status);
      expect(error.message).toContain(`upstream says no (${status})`);
      expect(error.message).toContain(String(status));
    },
  );

  it('turns a hang into 504 within the configured timeout', async () => {
    fake.setFault(kind, { kind: 'hang' });
    const error = await rejectionOf(run(undefined, timing.client));
    expect(error).toBeInstanceOf(AssistedTimeoutError);
    expect((error as AssistedTimeoutError).status).toBe(504);
    expect(error.message).toContain(`${TIMEOUT_MS} ms`);
  });

  it('turns a body that stalls after the headers into 504', async () => {
    fake.setFault(kind, { kind: 'stall' });
    expect(await rejectionOf(run(undefined, timing.client))).toBeInstanceOf(AssistedTimeoutError);
  });

  it('turns a connection reset mid-body into 502', async () => {
    fake.setFault(kind, { kind: 'reset' });
    const error = await rejectionOf(run());
    expect(error).toBeInstanceOf(AssistedUnreachableError);
    expect((error as AssistedUnreachableError).status).toBe(502);
  });

  it('does not follow a redirect: 502, and the target is never requested', async () => {
    const before = fake.callsOf('other').length;
    fake.setFault(kind, { kind: 'redirect', status: 302, location: `${fake.url}/elsewhere` });
    const error = await rejectionOf(run());
    expect(error).toBeInstanceOf(AssistedInvalidResponseError);
    expect(error.message).toContain('redirect');
    expect(fake.callsOf('other').length).toBe(before);
  });

  it('rejects with an AbortError when the caller goes away, and the upstream request is closed', async () => {
    fake.setFault(kind, { kind: 'hang' });
    const abandonedBefore = fake.abandoned.length;
    const callsBefore = fake.callsOf(kind).length;
    const controller = new AbortController();
    const pending = rejectionOf(run(controller.signal));
    await until(() => fake.callsOf(kind).length > callsBefore, 'the upstream call');
    controller.abort();
    const error = await pending;
    expect(error.name).toBe('AbortError');
    expect(error).not.toBeInstanceOf(AssistedServiceError);
    await until(() => fake.abandoned.length > abandonedBefore, 'the upstream request to close');
    const lines = context.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((line) => line.level === 'error' || line.level === 'warn')).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ level: 'debug', aborted: true });
  });

  it('does not call upstream at all when the signal has already fired', async () => {
    const before = fake.calls.length;
    const error = await rejectionOf(run(AbortSignal.abort()));
    expect(error.name).toBe('AbortError');
    expect(fake.calls.length).toBe(before);
  });
});

describe('AssistedClient failures', () => {
  it('turns a closed port into 502', async () => {
    const port = await closedPort();
    const closed = await createAssistedTestModule({
      baseUrl: `http://127.0.0.1:${port}`,
      client: { timeoutMs: PATIENT_MS },
    });
    try {
      const error = await rejectionOf(closed.client.fetchIgnition(INFRA_ENV_A, CREDENTIAL, 'full-iso', IGNITION_AREA));
      expect(error).toBeInstanceOf(AssistedUnreachableError);
      expect((error as AssistedUnreachableError).status).toBe(502);
      expect(error.message).toContain('ECONNREFUSED');
    } finally {
      await closed.close();
    }
  });

  it('turns an infra-env that is not JSON into 502 that says so', async () => {
    fake.setFault('infra-env', { kind: 'body', body: '{"id": "trunc' });
    const error = await rejectionOf(client.fetchKernelArguments(INFRA_ENV_A, CREDENTIAL));
    expect(error).toBeInstanceOf(AssistedInvalidResponseError);
    expect((error as AssistedInvalidResponseError).status).toBe(502);
    expect(error.message).toMatch(/infra-env .* not valid JSON/);
  });

  it('turns a kernel_arguments that is not a string into 502', async () => {
    fake.setFault('infra-env', {
      kind: 'body',
      body: '{"kernel_arguments": [{"operation": "append", "value": "p1"}]}',
    });
    const error = await rejectionOf(client.fetchKernelArguments(INFRA_ENV_A, CREDENTIAL));
    expect(error).toBeInstanceOf(AssistedInvalidResponseError);
    expect(error.message).toContain('kernel_arguments is not a string');
  });

  it('turns kernel_arguments with a replace operation into 502 naming the operation', async () => {
    const error = await rejectionOf(client.fetchKernelArguments(INFRA_ENV_B, CREDENTIAL));
    expect(error).toBeInstanceOf(AssistedInvalidResponseError);
    expect((error as AssistedInvalidResponseError).status).toBe(502);
    expect(error.message).toContain('invalid kernel arguments');
    expect(error.message).toContain('"replace"');
  });

  it('turns kernel_arguments that are not JSON into 502 that says so', async () => {
    const error = await rejectionOf(client.fetchKernelArguments(INFRA_ENV_C, CREDENTIAL));
    expect(error).toBeInstanceOf(AssistedInvalidResponseError);
    expect(error.message).toContain('kernel_arguments is not valid JSON');
  });

  it('refuses an infra-env over 1 MiB as an invalid response, without reading past the limit', async () => {
    fake.setFault('infra-env', { kind: 'body', body: `{"kernel_arguments": "${'x'.repeat(1024 * 1024)}"}` });
    const error = await rejectionOf(client.fetchKernelArguments(INFRA_ENV_A, CREDENTIAL));
    expect(error).toBeInstanceOf(AssistedInvalidResponseError);
    expect(error.message).toBe(
      "assisted-service's response for the infra-env is larger than the 1048576-byte limit; refusing it",
    );
  });

  it('truncates a long upstream reason and removes the credential it echoes', async () => {
    fake.setFault('ignition', { kind: 'status', status: 401, body: `invalid api key ${API_KEY}: ${'x'.repeat(2000)}` });
    const error = await rejectionOf(client.fetchIgnition(INFRA_ENV_A, CREDENTIAL, 'full-iso', IGNITION_AREA));
    expect((error as AssistedUpstreamError).status).toBe(401);
    expect(error.message).toContain('invalid api key');
    expect(error.message).not.toContain(API_KEY);
    expect(error.message.length).toBeLessThan(500);
  });

  it('never logs the credential, whatever failed', () => {
    expect(context.logs.length).toBeGreaterThan(0);
    expect(timing.logs.length).toBeGreaterThan(0);
    expect([...context.logs, ...timing.logs].join('\n')).not.toContain(API_KEY);
  });
});

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
