import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { answerGate, type Fault, type CallKind } from './support/fake-assisted-service.js';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { httpGet, jsonOf } from './support/http-client.js';
import { waitFor } from './support/test-app.js';

const ID = 'fa017000-0000-4000-8000-000000000001';
const BIG = 'fa017000-0000-4000-8000-000000000002';
const IGNITION = '{"ignition":{"version":"3.2.0"}}';
/**
 * The client timeout of the service the timeout cases run against: each of them waits this long once, and the
 * healthy requests made to that service after each fault have this long too, far more than they need.
 */
const TIMEOUT_MS = 2_000;
const INFRA_ENVS = [
  { id: ID, ignition: IGNITION, kernelArguments: '[{"operation":"append","value":"a=1"}]' },
  { id: BIG, ignition: randomBytes(400 * 1024).toString('base64') },
];

/**
 * Two services on the same fixture ISO. `patient` keeps the default client timeout (30 s), far beyond anything
 * here, so no answer races a clock; `timing` has TIMEOUT_MS and only sees faults that never answer in time (hang,
 * stall, an answer held until the client has given up). Then no outcome depends on how busy the machine is.
 */
let patient: DownloadEnv;
let timing: DownloadEnv;
let probe = 0;
/** Gates of 'hold' faults still closed: opened after each test, so no held handler outlives it. */
const gates: (() => void)[] = [];

beforeAll(async () => {
  patient = await startDownloadEnv({
    fixtures: [{ name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0' }],
    infraEnvs: INFRA_ENVS,
  });
  timing = await startDownloadEnv({
    fixtures: [{ name: 'x86', openshiftVersion: '4.18', version: '418.94.1-0', prebuilt: patient.isos.x86 }],
    infraEnvs: INFRA_ENVS,
    appOptions: { assisted: { client: { timeoutMs: TIMEOUT_MS } } },
  });
});

afterAll(async () => {
  await timing?.close();
  await patient?.close();
});

afterEach(() => {
  for (const open of gates.splice(0)) open();
  for (const env of [patient, timing]) {
    for (const kind of ['ignition', 'infra-env', 'minimal-initrd'] as CallKind[])
      env.assisted.setFault(kind, undefined);
  }
});

/** A fault that answers only when the returned function is called (or the test ends). */
function held(): { fault: Fault; release: () => void } {
  const gate = answerGate();
  gates.push(gate.open);
  return { fault: { kind: 'hold', until: gate.until }, release: gate.open };
}

/** Each request uses its own credential, so the customisation cache never hides a fault or a recovery. */
function download(env: DownloadEnv, id = ID, method = 'GET', extra = ''): Promise<Awaited<ReturnType<typeof httpGet>>> {
  probe++;
  return httpGet(`${env.app.baseUrl}/images/${id}?version=4.18&api_key=fault-${probe}${extra}`, { method });
}

/** After a fault the service still serves: a healthy download works and liveness holds. */
async function expectStillServing(env: DownloadEnv): Promise<void> {
  const healthy = await download(env, ID, 'HEAD');
  expect(healthy.status).toBe(200);
  expect((await httpGet(`${env.app.baseUrl}/live`)).status).toBe(200);
}

/** Resolves once `env`'s stand-in has received one more call of `kind` than `before`. */
function reachedUpstream(env: DownloadEnv, kind: CallKind, before: number): Promise<true> {
  return waitFor(
    () => (env.assisted.callsOf(kind).length > before ? true : undefined),
    20_000,
    `the ${kind} call to reach assisted-service`,
  );
}

interface UpstreamFault {
  readonly name: string;
  readonly kind: CallKind;
  readonly fault: Fault;
  readonly status: number;
  readonly message: RegExp;
  /** Run against `timing`: the fault is about the client timeout. */
  readonly timeout?: true;
}

const UPSTREAM_FAULTS: UpstreamFault[] = [
  {
    name: 'hangs',
    kind: 'ignition',
    fault: { kind: 'hang' },
    status: 504,
    message: new RegExp(`did not answer .* within ${TIMEOUT_MS} ms`),
    timeout: true,
  },
  {
    name: 'resets the connection mid-body',
    kind: 'infra-env',
    fault: { kind: 'reset' },
    status: 502,
    message: /infra-env/,
  },
  {
    name: 'stalls after the headers',
    kind: 'ignition',
    fault: { kind: 'stall' },
    status: 504,
    message: /did not answer/,
    timeout: true,
  },
  {
    name: 'answers 200 with malformed JSON',
    kind: 'infra-env',
    fault: { kind: 'body', body: '{"id": "x", "kernel_arguments": ' },
    status: 502,
    message: /not valid JSON|malformed|JSON/i,
  },
  {
    name: 'answers 200 with a kernel_arguments that is not JSON',
    kind: 'infra-env',
    fault: { kind: 'body', body: '{"kernel_arguments": "[{oops"}' },
    status: 502,
    message: /kernel_arguments is not valid JSON/,
  },
  {
    name: 'answers 200 with a kernel_arguments operation other than append',
    kind: 'infra-env',
    fault: { kind: 'body', body: '{"kernel_arguments": "[{\\"operation\\":\\"delete\\",\\"value\\":\\"x\\"}]"}' },
    status: 502,
    message: /"delete" is not supported/,
  },
  {
    name: 'answers 200 with an empty Ignition',
    kind: 'ignition',
    fault: { kind: 'body', body: '' },
    status: 502,
    message: /empty|Ignition/i,
  },
  {
    name: 'answers 500',
    kind: 'ignition',
    fault: { kind: 'status', status: 500, body: 'database down' },
    status: 500,
    message: /database down/,
  },
  {
    name: 'redirects elsewhere',
    kind: 'ignition',
    fault: { kind: 'redirect', status: 302, location: 'http://127.0.0.1:1/elsewhere' },
    status: 502,
    message: /redirect/i,
  },
];

describe('a misbehaving assisted-service', () => {
  it.each(UPSTREAM_FAULTS)(
    'that $name gives the client $status with a reason, and the service keeps serving',
    async ({ kind, fault, status, message, timeout }) => {
      const env = timeout ? timing : patient;
      env.assisted.setFault(kind, fault);
      const response = await download(env);
      expect(response.status).toBe(status);
      expect(jsonOf(response).message).toMatch(message);
      env.assisted.setFault(kind, undefined);
      await expectStillServing(env);
    },
  );

  it('that answers slower than the timeout gives the client 504 with a reason, and the service keeps serving', async () => {
    // The answer is held until the client has its 504, so it is later than the timeout however slow the machine is.
    const { fault, release } = held();
    timing.assisted.setFault('infra-env', fault);
    const response = await download(timing);
    expect(response.status).toBe(504);
    expect(jsonOf(response).message).toMatch(/did not answer/);
    release();
    timing.assisted.setFault('infra-env', undefined);
    await expectStillServing(timing);
  });

  it('answers slowly but within the timeout: the download succeeds', async () => {
    // Held until the call has reached assisted-service, so the answer is slow; the patient timeout is far away.
    const { fault, release } = held();
    patient.assisted.setFault('ignition', fault);
    const before = patient.assisted.callsOf('ignition').length;
    let settled = false;
    const pending = download(patient).finally(() => (settled = true));
    await reachedUpstream(patient, 'ignition', before);
    expect(settled).toBe(false);
    release();
    const response = await pending;
    expect(response.status).toBe(200);
  });

  it('returns an Ignition larger than the area: a clear 400, and the service keeps serving', async () => {
    const response = await download(patient, BIG);
    expect(response.status).toBe(400);
    expect(jsonOf(response).message).toMatch(
      /Ignition payload is (more than )?\d+ bytes, larger than the ISO's 262144-byte Ignition area/,
    );
    await expectStillServing(patient);
  });

  it('does not let one hung call hold up other requests', async () => {
    // Hung until the test releases it, not until a timeout: it is certainly still waiting while the others answer.
    const { fault, release } = held();
    patient.assisted.setFault('ignition', fault);
    const before = patient.assisted.callsOf('ignition').length;
    let settled = false;
    const hung = download(patient).finally(() => (settled = true));
    await reachedUpstream(patient, 'ignition', before);
    // Liveness, readiness and artifacts answer while the hung call is still waiting for assisted-service.
    expect((await httpGet(`${patient.app.baseUrl}/live`)).status).toBe(200);
    expect((await httpGet(`${patient.app.baseUrl}/health`)).status).toBe(200);
    expect((await httpGet(`${patient.app.baseUrl}/boot-artifacts/kernel?version=4.18`)).status).toBe(200);
    expect(settled).toBe(false);
    release();
    // Once assisted-service answers, the waiting download completes (a call that never answers is the 'hangs' case).
    expect((await hung).status).toBe(200);
  });
});
