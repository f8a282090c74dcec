import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import { Clock } from '../common/clock.js';
import { AssistedServiceConfig } from '../config/app-config.js';
import type { ImageType } from '../config/catalog.js';
import { IgnitionTooLargeError, RamdiskAreaError } from '../iso/index.js';
import { AssistedClient } from './assisted.client.js';
import { AssistedUpstreamError, DoesNotFitError, InvalidInfraEnvIdError } from './assisted.errors.js';
import type { Credential } from './credentials.js';
import {
  CustomizationCacheOptions,
  CustomizationService,
  customizationBytes,
  type CustomizationNeeds,
} from './customization.service.js';

const ID = '0b8a4d4e-3c3e-4f5a-9d1e-2f6c7a8b9c0d';
const OTHER_ID = '1c9b5e5f-4d4f-4a6b-8e2f-3a7d8b9c0d1e';
const KEY: Credential = { kind: 'api-key', value: 'key-1' };
const FULL: CustomizationNeeds = { ignitionAreaBytes: 4096, kernelArguments: true };
const PXE: CustomizationNeeds = { ignitionAreaBytes: 4096, ramdiskAreaBytes: 8192, kernelArguments: false };
const LAST_MODIFIED = new Date('2025-01-02T03:04:05Z');

type Call = {
  kind: 'ignition' | 'minimal-initrd' | 'infra-env';
  id: string;
  isoType?: ImageType;
  signal?: AbortSignal;
};

/** The three calls, answered from fields the test sets; `hold` keeps a call pending until its signal fires. */
class FakeClient {
  readonly calls: Call[] = [];
  failure: Error | undefined;
  hold = false;

  fetchIgnition(
    id: string,
    _credential: Credential,
    isoType: ImageType | undefined,
    _area: number,
    signal?: AbortSignal,
  ) {
    return this.answer({ kind: 'ignition', id, ...(isoType && { isoType }), signal }, () => ({
      payload: Buffer.from(`payload of ${id}`),
      lastModified: LAST_MODIFIED,
    }));
  }

  fetchMinimalInitrd(id: string, _credential: Credential, _area: number, signal?: AbortSignal) {
    return this.answer({ kind: 'minimal-initrd', id, signal }, () => Buffer.from('ramdisk'));
  }

  fetchKernelArguments(id: string, _credential: Credential, signal?: AbortSignal) {
    return this.answer({ kind: 'infra-env', id, signal }, () => ['ip=dhcp']);
  }

  count(kind: Call['kind']): number {
    return this.calls.filter((call) => call.kind === kind).length;
  }

  private answer<T>(call: Call, value: () => T): Promise<T> {
    this.calls.push(call);
    if (this.hold) {
      return new Promise((_resolve, reject) => {
        call.signal?.addEventListener('abort', () => reject(new Error(`${call.kind} aborted`)), { once: true });
      });
    }
    return this.failure === undefined ? Promise.resolve(value()) : Promise.reject(this.failure);
  }
}

class FakeClock extends Clock {
  ms = Date.UTC(2025, 0, 1);

  override now(): number {
    return this.ms;
  }
}

let module: TestingModule;
let client: FakeClient;
let clock: FakeClock;
let service: CustomizationService;

async function start(ttlSeconds = 30, options: Partial<CustomizationCacheOptions> = {}): Promise<void> {
  module = await Test.createTestingModule({
    providers: [
      CustomizationService,
      { provide: AssistedClient, useValue: client },
      { provide: Clock, useValue: clock },
      { provide: AssistedServiceConfig, useValue: new AssistedServiceConfig('http://assisted', undefined, ttlSeconds) },
      { provide: CustomizationCacheOptions, useValue: { maxEntries: 1000, maxBytes: 1024 * 1024, ...options } },
    ],
  }).compile();
  service = module.get(CustomizationService);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error,
  );
}

beforeEach(() => {
  client = new FakeClient();
  clock = new FakeClock();
});

afterEach(async () => {
  await module.close();
});

describe('CustomizationService', () => {
  it('combines the Ignition, ramdisk and kernel arguments, and asks only what the image needs', async () => {
    await start();
    const iso = await service.get(ID, 'minimal-iso', KEY, { ...FULL, ramdiskAreaBytes: 8192 });
    expect(iso).toEqual({
      ignitionPayload: Buffer.from(`payload of ${ID}`),
      lastModified: LAST_MODIFIED,
      ramdisk: Buffer.from('ramdisk'),
      kernelArguments: ['ip=dhcp'],
    });
    expect(client.calls.find((call) => call.kind === 'ignition')?.isoType).toBe('minimal-iso');
    const pxe = await service.get(ID, 'pxe-initrd', KEY, PXE);
    expect(pxe.kernelArguments).toEqual([]);
    expect(client.calls.filter((call) => call.kind === 'ignition').at(-1)?.isoType).toBeUndefined();
    expect([client.count('ignition'), client.count('minimal-initrd'), client.count('infra-env')]).toEqual([2, 2, 1]);
  });

  it('reuses a customisation for the TTL on the injected clock, then fetches it again', async () => {
    await start(30);
    await service.get(ID, 'full-iso', KEY, FULL);
    clock.ms += 29_999;
    await service.get(ID, 'full-iso', KEY, FULL);
    expect(client.count('ignition')).toBe(1);
    clock.ms += 1;
    await service.get(ID, 'full-iso', KEY, FULL);
    expect(client.count('ignition')).toBe(2);
  });

  it('keys entries by credential, image type and area sizes', async () => {
    await start();
    await service.get(ID, 'full-iso', KEY, FULL);
    await service.get(ID, 'full-iso', { kind: 'image-token', value: 'key-1' }, FULL);
    await service.get(ID, 'disconnected-iso', KEY, FULL);
    await service.get(ID, 'full-iso', KEY, { ...FULL, ignitionAreaBytes: 8192 });
    await service.get(OTHER_ID, 'full-iso', KEY, FULL);
    await service.get(ID, 'full-iso', KEY, FULL);
    expect(client.count('ignition')).toBe(5);
  });

  it('calls upstream for every request when the TTL is 0', async () => {
    await start(0);
    await Promise.all([1, 2, 3].map(() => service.get(ID, 'full-iso', KEY, FULL)));
    expect(client.count('ignition')).toBe(3);
    expect(service.usage.entries).toBe(0);
  });

  it('coalesces concurrent misses, and abandons the load only when every waiter has left', async () => {
    await start();
    client.hold = true;
    const [first, second] = [new AbortController(), new AbortController()];
    const waits = [first, second].map((controller) =>
      rejection(service.get(ID, 'full-iso', KEY, FULL, controller.signal)),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(client.count('ignition')).toBe(1);
    first.abort();
    expect((await waits[0])?.name).toBe('AbortError');
    expect(client.calls.every((call) => call.signal?.aborted === false)).toBe(true);
    second.abort();
    expect((await waits[1])?.name).toBe('AbortError');
    expect(client.calls.every((call) => call.signal?.aborted === true)).toBe(true);
    client.hold = false;
    await service.get(ID, 'full-iso', KEY, FULL);
    expect(client.count('ignition')).toBe(2);
  });

  it('does not cache an upstream error: the next request retries', async () => {
    await start();
    client.failure = new AssistedUpstreamError(503, 'try later');
    expect(await rejection(service.get(ID, 'full-iso', KEY, FULL))).toBe(client.failure);
    client.failure = undefined;
    await service.get(ID, 'full-iso', KEY, FULL);
    expect(client.count('ignition')).toBe(2);
  });

  it.each([
    ['an Ignition', new IgnitionTooLargeError(undefined, 4096)],
    ['a ramdisk', RamdiskAreaError.tooLarge(9000, 8192)],
  ])('turns %s that cannot fit into DoesNotFitError (400), remembered for the TTL', async (_what, error) => {
    await start(30);
    client.failure = error;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const refusal = await rejection(service.get(ID, 'full-iso', KEY, FULL));
      expect(refusal).toBeInstanceOf(DoesNotFitError);
      expect((refusal as DoesNotFitError).status).toBe(400);
      expect(refusal.message).toBe(error.message);
    }
    expect(client.count('ignition')).toBe(1);
    clock.ms += 30_000;
    await rejection(service.get(ID, 'full-iso', KEY, FULL));
    expect(client.count('ignition')).toBe(2);
  });

  it('refuses an id that is not a lowercase UUID without calling upstream', async () => {
    await start();
    expect(await rejection(service.get(ID.toUpperCase(), 'full-iso', KEY, FULL))).toBeInstanceOf(
      InvalidInfraEnvIdError,
    );
    expect(client.calls).toEqual([]);
  });

  it('evicts the least recently used entry beyond the entry bound', async () => {
    await start(30, { maxEntries: 1 });
    await service.get(ID, 'full-iso', KEY, FULL);
    await service.get(OTHER_ID, 'full-iso', KEY, FULL);
    await service.get(ID, 'full-iso', KEY, FULL);
    expect(client.count('ignition')).toBe(3);
    expect(service.usage.entries).toBe(1);
  });

  it('counts what is derived from a customisation in its entry and computes it once while cached', async () => {
    await start();
    const customization = await service.get(ID, 'full-iso', KEY, FULL);
    let builds = 0;
    const slot = {};
    const build = (): number => (builds += 1);
    expect(service.derive(customization, slot, build, () => 100)).toBe(1);
    expect(service.derive(customization, slot, build, () => 100)).toBe(1);
    expect(service.usage.bytes).toBe(customizationBytes(customization) + 100);
  });
});
