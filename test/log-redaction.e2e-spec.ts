import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RecordedCall } from './support/fake-assisted-service.js';
import { startDownloadEnv, type DownloadEnv } from './support/download-env.js';
import { waitFor } from './support/test-app.js';

/**
 * Credentials spelled the ways a client can spell them reach assisted-service when the service accepts them, and
 * never reach a log line: not the request line, not an error line, not a debug line. Every secret is unique, so a
 * leak anywhere in the captured log is found, however a line came to hold it.
 */
const ID = '10a9e7a0-0000-4000-8000-000000000001';
const RHCOS_418 = '418.94.1-0';
const RHCOS_417 = '417.94.1-0';

let env: DownloadEnv;
const secrets: string[] = [];

beforeAll(async () => {
  env = await startDownloadEnv({
    fixtures: [
      { name: 'x86', openshiftVersion: '4.18', version: RHCOS_418 },
      // Only the failing-read case uses this one: its cached file is removed under the running service.
      { name: 'x86-old', openshiftVersion: '4.17', version: RHCOS_417 },
    ],
    infraEnvs: [
      {
        id: ID,
        ignition: '{"ignition":{"version":"3.2.0"}}',
        kernelArguments: '[{"operation":"append","value":"a=1"}]',
      },
    ],
  });
});

afterAll(async () => {
  await env.close();
});

/** A credential no other request uses, so the customisation cache never hides a call and a leak is unmistakable. */
function secret(label: string): string {
  const value = `${label}-${randomBytes(8).toString('hex')}`;
  secrets.push(value);
  return value;
}

/** A JWT-shaped token naming the infra-env, none of whose parts starts with `eyJ`, the JWT pattern the logger knows. */
function unrecognisableToken(label: string): string {
  const part = (json: string): string => Buffer.from(json).toString('base64url');
  return `${part(' {"alg":"RS256"}')}.${part(` {"sub":"${ID}"}`)}.${secret(label)}`;
}

interface Answer {
  readonly status: number;
}

/** Sends `target` byte for byte as written: no URL parsing on the client normalises what the service receives. */
function send(target: string, method = 'HEAD'): Promise<Answer> {
  const { port } = env.app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: target, method, agent: false }, (response) => {
      response.resume();
      response.once('end', () => resolve({ status: response.statusCode ?? 0 }));
    });
    request.once('error', reject);
    request.end();
  });
}

type LogLine = Record<string, unknown>;

function linesSince(index: number): LogLine[] {
  return env.app.logs.slice(index).map((line) => JSON.parse(line) as LogLine);
}

/** The request line of the one request sent since `index` (written when its response closes, maybe after the client has it). */
function requestLineSince(index: number): Promise<LogLine> {
  return waitFor(
    () => linesSince(index).find((line) => line.context === 'HttpRequest'),
    10_000,
    'the request log line',
  );
}

/** The captured log with percent-escapes decoded too, so a secret cannot hide behind an escape. */
function allLogText(): string {
  const text = env.app.logs.join('\n');
  return `${text}\n${text.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))}`;
}

function expectNoSecretLogged(...values: string[]): void {
  const text = allLogText();
  for (const value of values) expect(text).not.toContain(value);
}

function callsSince(index: number): RecordedCall[] {
  return env.assisted.calls.slice(index);
}

function header(call: RecordedCall, name: string): string | undefined {
  const value = call.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Where each call carried a credential: the api_key parameter, the Image-Token header, the Authorization header. */
function credentialsOf(call: RecordedCall): (string | undefined)[] {
  return [call.query.get('api_key') ?? undefined, header(call, 'image-token'), header(call, 'authorization')];
}

interface AcceptedCase {
  readonly name: string;
  readonly target: (value: string) => string;
  /** What assisted-service must receive, built from the secret. */
  readonly passedOn: (value: string) => string;
  readonly where: 'api_key' | 'image-token';
  readonly route: string;
  readonly path: string;
}

const IMAGES_ROUTE = '/images/:image_id';
const ACCEPTED: AcceptedCase[] = [
  {
    name: 'api%5Fkey',
    target: (v) => `/images/${ID}?version=4.18&api%5Fkey=${v}`,
    passedOn: (v) => v,
    where: 'api_key',
    route: IMAGES_ROUTE,
    path: `/images/${ID}`,
  },
  {
    name: 'image%5ftoken',
    target: (v) => `/images/${ID}?image%5ftoken=${v}&version=4.18`,
    passedOn: (v) => v,
    where: 'image-token',
    route: IMAGES_ROUTE,
    path: `/images/${ID}`,
  },
  {
    name: 'a ;-joined api_key',
    target: (v) => `/images/${ID}?version=4.18&api_key=abc;${v}`,
    passedOn: (v) => `abc;${v}`,
    where: 'api_key',
    route: IMAGES_ROUTE,
    path: `/images/${ID}`,
  },
  {
    name: 'a ,-joined api_key',
    target: (v) => `/images/${ID}?version=4.18&api_key=abc,${v}`,
    passedOn: (v) => `abc,${v}`,
    where: 'api_key',
    route: IMAGES_ROUTE,
    path: `/images/${ID}`,
  },
  {
    name: 'an escaped-space-joined image_token',
    target: (v) => `/images/${ID}?version=4.18&image_token=abc%20${v}`,
    passedOn: (v) => `abc ${v}`,
    where: 'image-token',
    route: IMAGES_ROUTE,
    path: `/images/${ID}`,
  },
  {
    name: 'an escaped name on the PXE route',
    target: (v) => `/images/${ID}/pxe-initrd?version=4.18&%61pi_key=${v}`,
    passedOn: (v) => v,
    where: 'api_key',
    route: '/images/:image_id/pxe-initrd',
    path: `/images/${ID}/pxe-initrd`,
  },
];

describe('credentials the service accepts are passed on and never logged', () => {
  it.each(ACCEPTED)('$name', async ({ target, passedOn, where, route, path }) => {
    const value = secret('accepted');
    const logsBefore = env.app.logs.length;
    const callsBefore = env.assisted.calls.length;
    expect((await send(target(value))).status).toBe(200);
    const calls = callsSince(callsBefore);
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      expect(where === 'api_key' ? call.query.get('api_key') : header(call, 'image-token')).toBe(passedOn(value));
    }
    const line = await requestLineSince(logsBefore);
    expect(line).toMatchObject({ method: 'HEAD', route, path, status: 200 });
    expect(line.query).toContain('version=4.18');
    expect(line.query).toMatch(/(api_key|image_token)=REDACTED/);
    expectNoSecretLogged(value);
  });

  it.each([
    ['bytoken', 'image-token'],
    ['ByToken', 'image-token'],
    ['byapikey', 'api_key'],
  ] as const)('in the /%s/{credential} path segment', async (prefix, where) => {
    const token = unrecognisableToken('path');
    const logsBefore = env.app.logs.length;
    const callsBefore = env.assisted.calls.length;
    expect((await send(`/${prefix}/${token}/4.18/x86_64/full.iso`)).status).toBe(200);
    const calls = callsSince(callsBefore);
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls)
      expect(where === 'api_key' ? call.query.get('api_key') : header(call, 'image-token')).toBe(token);
    const line = await requestLineSince(logsBefore);
    const route = `/${prefix.toLowerCase()}/:${where === 'api_key' ? 'api_key' : 'token'}/:version/:arch/:filename`;
    expect(line).toMatchObject({ route, path: `/${prefix.toLowerCase()}/REDACTED/4.18/x86_64/full.iso`, status: 200 });
    expectNoSecretLogged(token, token.split('.')[2] ?? token);
  });
});

describe('credentials the service does not accept are not logged either', () => {
  it.each([
    ['API_KEY', (v: string) => `/images/${ID}?version=4.18&API_KEY=${v}`],
    ['Api_Key', (v: string) => `/images/${ID}?version=4.18&Api_Key=${v}`],
    ['API%5FKEY', (v: string) => `/images/${ID}?version=4.18&API%5FKEY=${v}`],
    ['%41PI_KEY', (v: string) => `/images/${ID}?version=4.18&%41PI_KEY=${v}`],
    ['IMAGE_TOKEN', (v: string) => `/images/${ID}?IMAGE_TOKEN=${v}&version=4.18`],
  ])('?%s=…: passed on to no one, the request line keeps the parameter but not its value', async (name, target) => {
    const value = secret('unaccepted');
    const logsBefore = env.app.logs.length;
    const callsBefore = env.assisted.calls.length;
    expect((await send(target(value))).status).toBe(200);
    // Express's parser is case-sensitive: no credential, so assisted-service gets none (the stand-in accepts that).
    for (const call of callsSince(callsBefore)) expect(credentialsOf(call).filter(Boolean)).toEqual([]);
    const line = await requestLineSince(logsBefore);
    expect(line).toMatchObject({ route: IMAGES_ROUTE, status: 200 });
    // The parameter as Express parsed it, escapes decoded.
    expect(line.query).toContain(`${decodeURIComponent(name)}=REDACTED`);
    expect(line.query).toContain('version=4.18');
    expectNoSecretLogged(value);
  });

  it.each([
    [
      'an escaped route word',
      (v: string) => `/by%74oken/${v}/4.18/x86_64/full.iso`,
      '/bytoken/REDACTED/4.18/x86_64/full.iso',
    ],
    [
      'a twice-escaped route word',
      (v: string) => `/by%2561pikey/${v}/4.18/x86_64/full.iso`,
      '/byapikey/REDACTED/4.18/x86_64/full.iso',
    ],
    ['a path too short for the route', (v: string) => `/bytoken/${v}`, '/bytoken/REDACTED'],
    [
      'a path too long for the route',
      (v: string) => `/BYAPIKEY/${v}/4.18/x86_64/full.iso/more`,
      '/BYAPIKEY/REDACTED/4.18/x86_64/full.iso/more',
    ],
    [
      'a route word joined by an escaped slash',
      (v: string) => `/bytoken%2F${v}/4.18/x86_64/full.iso`,
      '/bytoken/REDACTED/4.18/x86_64/full.iso',
    ],
  ])(
    'in an unmatched path (%s): 404, nothing asked upstream, the path logged redacted',
    async (_name, target, path) => {
      const value = secret('unmatched');
      const logsBefore = env.app.logs.length;
      const callsBefore = env.assisted.calls.length;
      expect((await send(target(value), 'GET')).status).toBe(404);
      expect(callsSince(callsBefore)).toEqual([]);
      const line = await requestLineSince(logsBefore);
      expect(line).toMatchObject({ method: 'GET', route: 'unmatched', status: 404 });
      expect(line.path).toBe(path);
      expectNoSecretLogged(value);
    },
  );
});

describe('requests that fail are logged without their credential', () => {
  it('502 from an assisted-service that resets the connection', async () => {
    const value = secret('failing');
    const logsBefore = env.app.logs.length;
    const callsBefore = env.assisted.calls.length;
    env.assisted.setFault('infra-env', { kind: 'reset' });
    try {
      expect((await send(`/images/${ID}?version=4.18&api%5Fkey=${value}`, 'GET')).status).toBe(502);
    } finally {
      env.assisted.setFault('infra-env', undefined);
    }
    expect(
      callsSince(callsBefore).some((call) => call.kind === 'infra-env' && call.query.get('api_key') === value),
    ).toBe(true);
    const line = await requestLineSince(logsBefore);
    expect(line).toMatchObject({ level: 'warn', route: IMAGES_ROUTE, path: `/images/${ID}`, status: 502 });
    expect(line.query).toBe('version=4.18&api_key=REDACTED');
    expectNoSecretLogged(value);
  });

  it('500 when the cached image cannot be read: the error line names the request without the credential', async () => {
    const dataDir = join(env.work, 'data');
    const cached = (await readdir(dataDir)).filter(
      (name) => name.includes(RHCOS_417) && name.includes('full-iso') && name.endsWith('.iso'),
    );
    expect(cached).toHaveLength(1);
    await rm(join(dataDir, cached[0] ?? ''));
    const value = secret('unreadable');
    const logsBefore = env.app.logs.length;
    expect((await send(`/images/${ID}?version=4.17&image%5Ftoken=${value}`, 'GET')).status).toBe(500);
    const line = await requestLineSince(logsBefore);
    expect(line).toMatchObject({ route: IMAGES_ROUTE, status: 500, query: 'version=4.17&image_token=REDACTED' });
    const failure = linesSince(logsBefore).find((entry) => entry.level === 'error');
    expect(failure?.msg).toMatch(
      new RegExp(`^download GET /images/${ID}\\?version=4\\.17&image_token=REDACTED failed: `),
    );
    expectNoSecretLogged(value);
  });

  it("a client that goes away while assisted-service is asked: the exception filter's line holds no credential", async () => {
    const value = secret('gone');
    const logsBefore = env.app.logs.length;
    const callsBefore = env.assisted.calls.length;
    env.assisted.setFault('ignition', { kind: 'hang' });
    try {
      const { port } = env.app.server.address() as AddressInfo;
      const request = httpRequest({
        host: '127.0.0.1',
        port,
        path: `/images/${ID}?version=4.18&api_key=x;${value}`,
        agent: false,
      });
      request.once('error', () => undefined);
      request.end();
      await waitFor(
        () => (callsSince(callsBefore).some((call) => call.kind === 'ignition') ? true : undefined),
        10_000,
        'the call upstream',
      );
      request.destroy();
      const gone = await waitFor(
        () => linesSince(logsBefore).find((line) => line.context === 'AllExceptionsFilter'),
        10_000,
        'the filter line',
      );
      expect(gone.msg).toBe(`client went away: GET /images/${ID}?version=4.18&api_key=REDACTED`);
      expect(await requestLineSince(logsBefore)).toMatchObject({ route: IMAGES_ROUTE, aborted: true });
    } finally {
      env.assisted.setFault('ignition', undefined);
    }
    expect(
      callsSince(callsBefore)
        .find((call) => call.kind === 'ignition')
        ?.query.get('api_key'),
    ).toBe(`x;${value}`);
    expectNoSecretLogged(value);
  });
});

describe('the whole log', () => {
  it('holds none of the secrets used above, and did log the requests', () => {
    expect(secrets.length).toBeGreaterThan(15);
    expect(env.app.logs.filter((line) => line.includes('"context":"HttpRequest"')).length).toBeGreaterThan(15);
    expectNoSecretLogged(...secrets);
  });
});
