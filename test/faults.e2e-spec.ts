import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Fault, CallKind } from './support/fake-assisted-service.js';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet, jsonOf } from './support/http-client.js';

const ID = 'fa017000-0000-4000-8000-000000000001';
const BIG = 'fa017000-0000-4000-8000-000000000002';
const IGNITION = '{"ignition":{"version":"3.2.0"}}';
const TIMEOUT_MS = 800;

let env: DownloadEnv;
let probe = 0;

beforeAll(async () => {
  env = await startDownloadEnv({
    fixtures: [{ name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0' }],
    infraEnvs: [
      { id: ID, ignition: IGNITION, kernelArguments: '[{"operation":"append","value":"a=1"}]' },
      { id: BIG, ignition: randomBytes(400 * 1024).toString('base64') },
    ],
    appOptions: { assisted: { client: { timeoutMs: TIMEOUT_MS } } },
  });
});

afterAll(async () => {
  await env.close();
});

afterEach(() => {
  for (const kind of ['ignition', 'infra-env', 'minimal-initrd'] as CallKind[]) env.assisted.setFault(kind, undefined);
});

/** Each request uses its own credential, so the customisation cache never hides a fault or a recovery. */
function download(id = ID, method = 'GET', extra = ''): Promise<Awaited<ReturnType<typeof httpGet>>> {
  probe++;
  return httpGet(`${env.app.baseUrl}/images/${id}?version=4.18&api_key=fault-${probe}${extra}`, { method });
}

/** After a fault the service still serves: a healthy download works and liveness holds. */
async function expectStillServing(): Promise<void> {
  const healthy = await download(ID, 'HEAD');
  expect(healthy.status).toBe(200);
  expect((await httpGet(`${env.app.baseUrl}/live`)).status).toBe(200);
}

interface UpstreamFault {
  readonly name: string;
  readonly kind: CallKind;
  readonly fault: Fault;
  readonly status: number;
  readonly message: RegExp;
}

const UPSTREAM_FAULTS: UpstreamFault[] = [
  { name: 'hangs', kind: 'ignition', fault: { kind: 'hang' }, status: 504, message: new RegExp(`did not answer .* within ${TIMEOUT_MS} ms`) },
  { name: 'answers slower than the timeout', kind: 'infra-env', fault: { kind: 'delay', ms: TIMEOUT_MS + 700 }, status: 504, message: /did not answer/ },
  { name: 'resets the connection mid-body', kind: 'infra-env', fault: { kind: 'reset' }, status: 502, message: /infra-env/ },
  { name: 'stalls after the headers', kind: 'ignition', fault: { kind: 'stall' }, status: 504, message: /did not answer/ },
  { name: 'answers 200 with malformed JSON', kind: 'infra-env', fault: { kind: 'body', body: '{"id": "x", "kernel_arguments": ' }, status: 502, message: /not valid JSON|malformed|JSON/i },
  { name: 'answers 200 with a kernel_arguments that is not JSON', kind: 'infra-env', fault: { kind: 'body', body: '{"kernel_arguments": "[{oops"}' }, status: 502, message: /kernel_arguments is not valid JSON/ },
  { name: 'answers 200 with a kernel_arguments operation other than append', kind: 'infra-env', fault: { kind: 'body', body: '{"kernel_arguments": "[{\\"operation\\":\\"delete\\",\\"value\\":\\"x\\"}]"}' }, status: 502, message: /"delete" is not supported/ },
  { name: 'answers 200 with an empty Ignition', kind: 'ignition', fault: { kind: 'body', body: '' }, status: 502, message: /empty|Ignition/i },
  { name: 'answers 500', kind: 'ignition', fault: { kind: 'status', status: 500, body: 'database down' }, status: 500, message: /database down/ },
  { name: 'redirects elsewhere', kind: 'ignition', fault: { kind: 'redirect', status: 302, location: 'http://127.0.0.1:1/elsewhere' }, status: 502, message: /redirect/i },
];

describe('a misbehaving assisted-service', () => {
  it.each(UPSTREAM_FAULTS)('that $name gives the client $status with a reason, and the service keeps serving', async ({ kind, fault, status, message }) => {
    env.assisted.setFault(kind, fault);
    const response = await download();
    expect(response.status).toBe(status);
    expect(jsonOf(response).message).toMatch(message);
    env.assisted.setFault(kind, undefined);
    await expectStillServing();
  });

  it('answers slowly but within the timeout: the download succeeds', async () => {
    env.assisted.setFault('ignition', { kind: 'delay', ms: TIMEOUT_MS / 3 });
    const response = await download();
    expect(response.status).toBe(200);
  });

  it('returns an Ignition larger than the area: a clear 400, and the service keeps serving', async () => {
    const response = await download(BIG);
    expect(response.status).toBe(400);
    expect(jsonOf(response).message).toMatch(/Ignition payload is \d+ bytes, larger than the ISO's 262144-byte Ignition area/);
    await expectStillServing();
  });

  it('does not let one hung call hold up other requests', async () => {
    env.assisted.setFault('ignition', { kind: 'hang' });
    let settled = false;
    const hung = download().finally(() => (settled = true));
    // Liveness, readiness and artifacts answer while the hung call is still waiting for assisted-service.
    expect((await httpGet(`${env.app.baseUrl}/live`)).status).toBe(200);
    expect((await httpGet(`${env.app.baseUrl}/health`)).status).toBe(200);
    expect((await httpGet(`${env.app.baseUrl}/boot-artifacts/kernel?version=4.18`)).status).toBe(200);
    expect(settled).toBe(false);
    expect((await hung).status).toBe(504);
  });
});
