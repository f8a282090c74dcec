import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FakeAssistedService } from '../support/fake-assisted-service.js';
import { AssistedUpstreamError, DoesNotFitError } from '../../src/assisted/assisted.errors.js';
import {
  configOf,
  createAssistedTestModule,
  IGNITION_AREA,
  INFRA_ENV_A,
  INFRA_ENV_B,
  INFRA_ENV_C,
  RAMDISK_AREA,
  rejectionOf,
  until,
  type AssistedTestContext,
  type AssistedTestSetup,
} from './assisted.test-helpers.js';
import type { Credential } from '../../src/assisted/credentials.js';
import { customizationBytes, type CustomizationNeeds } from '../../src/assisted/customization.service.js';

const KEY_A_VALUE = 'key-for-a-1f2e3d';
const TOKEN_A_VALUE = 'token-for-a-9c8b7a';
const WRONG_VALUE = 'key-wrong-000000';
const KEY_A: Credential = { kind: 'api-key', value: KEY_A_VALUE };
const TOKEN_A: Credential = { kind: 'image-token', value: TOKEN_A_VALUE };
const WRONG: Credential = { kind: 'api-key', value: WRONG_VALUE };
const FULL: CustomizationNeeds = { ignitionAreaBytes: IGNITION_AREA, kernelArguments: true };
const MINIMAL: CustomizationNeeds = {
  ignitionAreaBytes: IGNITION_AREA,
  ramdiskAreaBytes: RAMDISK_AREA,
  kernelArguments: true,
};
const PXE: CustomizationNeeds = {
  ignitionAreaBytes: IGNITION_AREA,
  ramdiskAreaBytes: RAMDISK_AREA,
  kernelArguments: false,
};

/** An infra-env whose Ignition (random, so incompressible) cannot fit a 256 KiB area, and whose ramdisk is 5,000 bytes. */
const TOO_BIG = '3ebd7071-6f61-4c8d-8a41-5c9f0dbe2f30';

const RAMDISK = randomBytes(2048);
/** 10,000 bytes that stay ~7,600 once compressed, so entry sizes are known roughly. */
const IGNITION_B = randomBytes(7500).toString('base64');
const IGNITION_C = randomBytes(7500).toString('base64');

let fake: FakeAssistedService;
let context: AssistedTestContext | undefined;

beforeEach(async () => {
  fake = await new FakeAssistedService()
    .addInfraEnv({
      id: INFRA_ENV_A,
      ignition: '{"for":"a"}',
      lastModified: new Date('2025-01-02T03:04:05Z'),
      ramdisk: RAMDISK,
      kernelArguments: '[{"operation":"append","value":"ip=dhcp"}]',
      credentials: { apiKey: KEY_A_VALUE, imageToken: TOKEN_A_VALUE },
    })
    .addInfraEnv({ id: INFRA_ENV_B, ignition: IGNITION_B })
    .addInfraEnv({ id: INFRA_ENV_C, ignition: IGNITION_C })
    .addInfraEnv({ id: TOO_BIG, ignition: randomBytes(400 * 1024).toString('base64'), ramdisk: randomBytes(5000) })
    .listen();
});

afterEach(async () => {
  await context?.close();
  context = undefined;
  await fake.close();
});

async function start(setup: Omit<AssistedTestSetup, 'baseUrl'> = {}): Promise<AssistedTestContext> {
  context = await createAssistedTestModule({ baseUrl: fake.url, ...setup });
  return context;
}

function callCounts(): Record<string, number> {
  return {
    ignition: fake.callsOf('ignition').length,
    'minimal-initrd': fake.callsOf('minimal-initrd').length,
    'infra-env': fake.callsOf('infra-env').length,
  };
}

describe('CustomizationService', () => {
  it('answers 1,000 concurrent and 1,000 sequential gets within the TTL with one upstream call per kind', async () => {
    const { customizations } = await start();
    const concurrent = await Promise.all(
      Array.from({ length: 1000 }, () => customizations.get(INFRA_ENV_A, 'minimal-iso', KEY_A, MINIMAL)),
    );
    for (let index = 0; index < 1000; index += 1) await customizations.get(INFRA_ENV_A, 'minimal-iso', KEY_A, MINIMAL);
    expect(callCounts()).toEqual({ ignition: 1, 'minimal-initrd': 1, 'infra-env': 1 });
    const first = concurrent[0];
    expect((await configOf(first?.ignitionPayload ?? Buffer.alloc(0))).toString()).toBe('{"for":"a"}');
    expect(first?.ramdisk?.equals(RAMDISK)).toBe(true);
    expect(first?.kernelArguments).toEqual(['ip=dhcp']);
    expect(first?.lastModified?.toISOString()).toBe('2025-01-02T03:04:05.000Z');
    expect(fake.callsOf('ignition')[0]?.query.get('discovery_iso_type')).toBe('minimal-iso');
  });

  it('makes only the calls an image needs: PXE has no kargs call and no discovery_iso_type', async () => {
    const { customizations } = await start();
    const pxe = await customizations.get(INFRA_ENV_A, 'pxe-initrd', KEY_A, PXE);
    expect(callCounts()).toEqual({ ignition: 1, 'minimal-initrd': 1, 'infra-env': 0 });
    expect(fake.callsOf('ignition')[0]?.query.has('discovery_iso_type')).toBe(false);
    expect(pxe.kernelArguments).toEqual([]);
    const full = await customizations.get(INFRA_ENV_A, 'full-iso', KEY_A, FULL);
    expect(callCounts()).toEqual({ ignition: 2, 'minimal-initrd': 1, 'infra-env': 1 });
    expect(full.ramdisk).toBeUndefined();
  });

  it("gives each credential its own calls and never another credential's entry", async () => {
    const { customizations } = await start();
    await customizations.get(INFRA_ENV_A, 'full-iso', KEY_A, FULL);
    await customizations.get(INFRA_ENV_A, 'full-iso', TOKEN_A, FULL);
    expect(fake.callsOf('ignition').map((call) => call.headers['image-token'] ?? call.query.get('api_key'))).toEqual([
      KEY_A_VALUE,
      TOKEN_A_VALUE,
    ]);
    const error = await rejectionOf(customizations.get(INFRA_ENV_A, 'full-iso', WRONG, FULL));
    expect(error).toBeInstanceOf(AssistedUpstreamError);
    expect((error as AssistedUpstreamError).status).toBe(401);
    expect(await rejectionOf(customizations.get(INFRA_ENV_A, 'full-iso', { kind: 'none' }, FULL))).toBeInstanceOf(
      AssistedUpstreamError,
    );
  });

  it('refetches once the TTL has passed', async () => {
    const { customizations, clock } = await start({ ttlSeconds: 30 });
    await customizations.get(INFRA_ENV_A, 'full-iso', KEY_A, FULL);
    clock.advance(29_999);
    await customizations.get(INFRA_ENV_A, 'full-iso', KEY_A, FULL);
    expect(callCounts().ignition).toBe(1);
    clock.advance(1);
    await customizations.get(INFRA_ENV_A, 'full-iso', KEY_A, FULL);
    expect(callCounts()).toEqual({ ignition: 2, 'minimal-initrd': 0, 'infra-env': 2 });
  });

  it('calls upstream for every request when the TTL is 0', async () => {
    const { customizations } = await start({ ttlSeconds: 0 });
    for (let index = 0; index < 3; index += 1) await customizations.get(INFRA_ENV_A, 'full-iso', KEY_A, FULL);
    await Promise.all([1, 2, 3].map(() => customizations.get(INFRA_ENV_A, 'full-iso', KEY_A, FULL)));
    expect(callCounts()).toEqual({ ignition: 6, 'minimal-initrd': 0, 'infra-env': 6 });
  });

  it('does not cache an upstream error: the next request retries', async () => {
    const { customizations } = await start();
    fake.setFault('infra-env', { kind: 'status', status: 503, body: 'try later' });
    const error = await rejectionOf(customizations.get(INFRA_ENV_A, 'full-iso', KEY_A, FULL));
    expect((error as AssistedUpstreamError).status).toBe(503);
    fake.setFault('infra-env', undefined);
    const customization = await customizations.get(INFRA_ENV_A, 'full-iso', KEY_A, FULL);
    expect(customization.kernelArguments).toEqual(['ip=dhcp']);
    expect(callCounts()['infra-env']).toBe(2);
  });

  it('abandons the sibling calls when one of them fails', async () => {
    const { customizations } = await start();
    fake.setFault('ignition', { kind: 'hang' });
    fake.setFault('infra-env', { kind: 'status', status: 403, body: 'forbidden' });
    const error = await rejectionOf(customizations.get(INFRA_ENV_A, 'full-iso', KEY_A, FULL));
    expect((error as AssistedUpstreamError).status).toBe(403);
    await until(() => fake.abandoned.includes('ignition'), 'the hanging Ignition call to be closed');
  });

  it('coalesces concurrent misses into one upstream call', async () => {
    const { customizations } = await start();
    fake.setFault('ignition', { kind: 'delay', ms: 200 });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => customizations.get(INFRA_ENV_B, 'full-iso', { kind: 'none' }, FULL)),
    );
    expect(callCounts()).toEqual({ ignition: 1, 'minimal-initrd': 0, 'infra-env': 1 });
    expect(new Set(results).size).toBe(1);
  });

  it('lets a waiter whose signal fires leave without disturbing the others', async () => {
    const { customizations } = await start();
    fake.setFault('ignition', { kind: 'delay', ms: 300 });
    const leaving = new AbortController();
    const left = rejectionOf(customizations.get(INFRA_ENV_B, 'full-iso', { kind: 'none' }, FULL, leaving.signal));
    const staying = customizations.get(INFRA_ENV_B, 'full-iso', { kind: 'none' }, FULL, new AbortController().signal);
    await until(() => fake.callsOf('ignition').length === 1, 'the shared call');
    leaving.abort();
    expect((await left).name).toBe('AbortError');
    expect((await configOf((await staying).ignitionPayload)).toString()).toBe(IGNITION_B);
    expect(callCounts().ignition).toBe(1);
    expect(fake.abandoned).toEqual([]);
  });

  it('aborts the shared call when every waiter has left, and the next request starts afresh', async () => {
    const { customizations } = await start();
    fake.setFault('ignition', { kind: 'hang' });
    const controllers = [new AbortController(), new AbortController()];
    const waits = controllers.map((controller) =>
      rejectionOf(customizations.get(INFRA_ENV_B, 'full-iso', { kind: 'none' }, FULL, controller.signal)),
    );
    await until(() => fake.callsOf('ignition').length === 1, 'the shared call');
    for (const controller of controllers) controller.abort();
    for (const error of await Promise.all(waits)) expect(error.name).toBe('AbortError');
    await until(() => fake.abandoned.includes('ignition'), 'the shared call to be closed');
    fake.setFault('ignition', undefined);
    const customization = await customizations.get(INFRA_ENV_B, 'full-iso', { kind: 'none' }, FULL);
    expect((await configOf(customization.ignitionPayload)).toString()).toBe(IGNITION_B);
    expect(callCounts().ignition).toBe(2);
  });

  it('evicts the least recently used entry beyond the entry bound', async () => {
    const { customizations } = await start({ cache: { maxEntries: 2 } });
    const none: Credential = { kind: 'none' };
    const get = (id: string) => customizations.get(id, 'full-iso', none, FULL);
    await get(INFRA_ENV_A).catch(() => undefined); // 401: errors take no slot
    await get(INFRA_ENV_B);
    await get(INFRA_ENV_C);
    await get(INFRA_ENV_B); // hit: B is now the most recent
    expect(callCounts().ignition).toBe(3);
    await customizations.get(INFRA_ENV_A, 'full-iso', KEY_A, FULL); // evicts C
    await get(INFRA_ENV_B);
    expect(callCounts().ignition).toBe(4);
    await get(INFRA_ENV_C);
    expect(callCounts().ignition).toBe(5);
  });

  it('evicts the least recently used entries beyond the byte bound', async () => {
    // B and C carry Ignitions whose payloads are ~7,600 bytes: two entries fit in 20,000 bytes, three do not.
    const { customizations } = await start({ cache: { maxBytes: 20_000 } });
    const none: Credential = { kind: 'none' };
    const get = (id: string, type: 'full-iso' | 'disconnected-iso') => customizations.get(id, type, none, FULL);
    await get(INFRA_ENV_B, 'full-iso');
    await get(INFRA_ENV_C, 'full-iso');
    await get(INFRA_ENV_B, 'full-iso'); // hit
    expect(callCounts().ignition).toBe(2);
    await get(INFRA_ENV_B, 'disconnected-iso'); // a third entry: C, the least recent, goes
    await get(INFRA_ENV_B, 'full-iso');
    expect(callCounts().ignition).toBe(3);
    await get(INFRA_ENV_C, 'full-iso');
    expect(callCounts().ignition).toBe(4);
  });

  it('remembers an Ignition that cannot fit for the TTL: one call, the same 400 for every request', async () => {
    const { customizations, clock } = await start({ ttlSeconds: 30 });
    const none: Credential = { kind: 'none' };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const error = await rejectionOf(customizations.get(TOO_BIG, 'full-iso', none, FULL));
      expect(error).toBeInstanceOf(DoesNotFitError);
      expect((error as DoesNotFitError).status).toBe(400);
      expect(error.message).toBe(
        "Ignition payload is more than 262144 bytes, larger than the ISO's 262144-byte Ignition area",
      );
    }
    const concurrent = await Promise.all(
      [1, 2, 3].map(() => rejectionOf(customizations.get(TOO_BIG, 'full-iso', none, FULL))),
    );
    for (const error of concurrent) expect(error).toBeInstanceOf(DoesNotFitError);
    expect(callCounts().ignition).toBe(1);
    clock.advance(30_000);
    await rejectionOf(customizations.get(TOO_BIG, 'full-iso', none, FULL));
    expect(callCounts().ignition).toBe(2);
  });

  it('keys entries by the area sizes: the same Ignition fits a larger area', async () => {
    const { customizations } = await start();
    const none: Credential = { kind: 'none' };
    expect(await rejectionOf(customizations.get(TOO_BIG, 'full-iso', none, FULL))).toBeInstanceOf(DoesNotFitError);
    const roomy = await customizations.get(TOO_BIG, 'full-iso', none, { ...FULL, ignitionAreaBytes: 1024 * 1024 });
    expect(roomy.ignitionPayload.length).toBeGreaterThan(IGNITION_AREA);
    expect(roomy.ignitionPayload.length).toBeLessThanOrEqual(1024 * 1024);
    expect(callCounts().ignition).toBe(2);
  });

  it('remembers a ramdisk larger than its area, with its declared size, and keeps no Ignition for it', async () => {
    const { customizations, cache } = await start();
    const none: Credential = { kind: 'none' };
    const needs: CustomizationNeeds = {
      ignitionAreaBytes: 1024 * 1024,
      ramdiskAreaBytes: 4096,
      kernelArguments: false,
    };
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const error = await rejectionOf(customizations.get(TOO_BIG, 'pxe-initrd', none, needs));
      expect(error).toBeInstanceOf(DoesNotFitError);
      expect(error.message).toBe('the static network ramdisk is 5000 bytes, larger than the 4096-byte ramdisk area');
    }
    expect(callCounts()['minimal-initrd']).toBe(1);
    expect(cache.usage.bytes).toBeLessThan(4096);
  });

  it('counts what is derived from a customisation in its entry, and computes it once while cached', async () => {
    const { customizations, cache } = await start();
    const none: Credential = { kind: 'none' };
    const customization = await customizations.get(INFRA_ENV_B, 'full-iso', none, FULL);
    expect(cache.usage.bytes).toBe(customizationBytes(customization));
    const slot = {};
    let builds = 0;
    const build = (): string => `built ${(builds += 1)}`;
    expect(customizations.derive(customization, slot, build, () => 50_000)).toBe('built 1');
    expect(customizations.derive(customization, slot, build, () => 50_000)).toBe('built 1');
    expect(cache.usage.bytes).toBe(customizationBytes(customization) + 50_000);
    expect(customizations.derive(customization, {}, build, () => 1_000)).toBe('built 2');
    expect(cache.usage.bytes).toBe(customizationBytes(customization) + 51_000);
  });

  it('evicts least recently used entries when a derived value passes the byte bound, and holds nothing it cannot count', async () => {
    const { customizations, cache } = await start({ cache: { maxBytes: 40_000 } });
    const none: Credential = { kind: 'none' };
    const b = await customizations.get(INFRA_ENV_B, 'full-iso', none, FULL);
    const c = await customizations.get(INFRA_ENV_C, 'full-iso', none, FULL);
    expect(cache.usage.entries).toBe(2);
    customizations.derive(
      c,
      {},
      () => 'file of c',
      () => 30_000,
    );
    // B was the least recently used: it went so that C and what was derived from it fit.
    expect(cache.usage).toEqual({ entries: 1, bytes: customizationBytes(c) + 30_000, maxBytes: 40_000 });
    let builds = 0;
    const slot = {};
    customizations.derive(
      b,
      slot,
      () => (builds += 1),
      () => 1,
    );
    customizations.derive(
      b,
      slot,
      () => (builds += 1),
      () => 1,
    );
    expect(builds).toBe(2);
    expect(cache.usage.bytes).toBe(customizationBytes(c) + 30_000);
    // Alone past the bound, an entry goes too.
    customizations.derive(
      c,
      {},
      () => 'huge',
      () => 40_000,
    );
    expect(cache.usage).toEqual({ entries: 0, bytes: 0, maxBytes: 40_000 });
  });

  it('logs none of the credentials it used', async () => {
    const { customizations, logs } = await start();
    await customizations.get(INFRA_ENV_A, 'minimal-iso', KEY_A, MINIMAL);
    await customizations.get(INFRA_ENV_A, 'full-iso', TOKEN_A, FULL);
    await customizations.get(INFRA_ENV_A, 'full-iso', WRONG, FULL).catch(() => undefined);
    expect(logs.length).toBeGreaterThanOrEqual(6);
    const everything = logs.join('\n');
    for (const secret of [KEY_A_VALUE, TOKEN_A_VALUE, WRONG_VALUE]) expect(everything).not.toContain(secret);
  });
});
