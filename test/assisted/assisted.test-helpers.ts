import 'reflect-metadata';
import { Module, type DynamicModule } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { AssistedClient, type AssistedClientOptions } from '../../src/assisted/assisted.client.js';
import { AssistedModule } from '../../src/assisted/assisted.module.js';
import { CustomizationService, type CustomizationCacheOptions } from '../../src/assisted/customization.service.js';
import { UpstreamBodyBudget } from '../../src/assisted/upstream-body.js';
import { Clock } from '../../src/common/clock.js';
import { AssistedServiceConfig } from '../../src/config/app-config.js';
import { JsonLogger } from '../../src/logging/json-logger.js';
import { registryProvider } from '../../src/metrics/metrics.module.js';
import { unpackWithSystemTools } from '../support/payload-tools.js';

export const INFRA_ENV_A = '0b8a4d4e-3c3e-4f5a-9d1e-2f6c7a8b9c0d';
export const INFRA_ENV_B = '1c9b5e5f-4d4f-4a6b-8e2f-3a7d8b9c0d1e';
export const INFRA_ENV_C = '2dac6f60-5e50-4b7c-9f30-4b8e9cad1e2f';

/** The Ignition area of the RHCOS live ISOs, and the minimal ISO's ramdisk area. */
export const IGNITION_AREA = 256 * 1024;
export const RAMDISK_AREA = 1024 * 1024;

/** A clock the test moves by hand. */
class FakeClock extends Clock {
  constructor(public ms = Date.UTC(2025, 0, 1)) {
    super();
  }

  override now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface AssistedTestSetup {
  readonly baseUrl: string | undefined;
  readonly trustedCaPem?: string;
  readonly ttlSeconds?: number;
  readonly client?: Partial<AssistedClientOptions>;
  readonly cache?: Partial<CustomizationCacheOptions>;
}

export interface AssistedTestContext {
  readonly module: TestingModule;
  readonly client: AssistedClient;
  readonly customizations: CustomizationService;
  readonly cache: CustomizationService;
  readonly budget: UpstreamBodyBudget;
  readonly clock: FakeClock;
  /** Every JSON line the module logged (at debug). */
  readonly logs: string[];
  close(): Promise<void>;
}

/** Stands in for the app's global ConfigModule and LoggingModule. */
@Module({})
class TestGlobalsModule {
  static forRoot(config: AssistedServiceConfig, logger: JsonLogger): DynamicModule {
    const providers = [
      { provide: AssistedServiceConfig, useValue: config },
      { provide: JsonLogger, useValue: logger },
      registryProvider,
    ];
    return {
      module: TestGlobalsModule,
      global: true,
      providers,
      exports: [AssistedServiceConfig, JsonLogger, Registry],
    };
  }
}

/** The real AssistedModule wired as the app wires it, with test options, a fake clock and captured logs. */
export async function createAssistedTestModule(setup: AssistedTestSetup): Promise<AssistedTestContext> {
  const logs: string[] = [];
  const clock = new FakeClock();
  const config = new AssistedServiceConfig(setup.baseUrl, setup.trustedCaPem, setup.ttlSeconds ?? 30);
  const module = await Test.createTestingModule({
    imports: [
      TestGlobalsModule.forRoot(config, new JsonLogger('debug', (line) => logs.push(line))),
      AssistedModule.forRoot({
        client: { timeoutMs: 30_000, ...setup.client },
        ...(setup.cache && { cache: setup.cache }),
      }),
    ],
  })
    .overrideProvider(Clock)
    .useValue(clock)
    .compile();
  await module.init();
  return {
    module,
    client: module.get(AssistedClient),
    customizations: module.get(CustomizationService),
    cache: module.get(CustomizationService),
    budget: module.get(UpstreamBodyBudget),
    clock,
    logs,
    close: () => module.close(),
  };
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The rejection of `promise`, failing the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** The config.ign inside an Ignition payload, unpacked with the system gzip and cpio. */
export async function configOf(payload: Buffer): Promise<Buffer> {
  const config = (await unpackWithSystemTools(payload)).get('config.ign');
  if (config === undefined) throw new Error('the payload holds no config.ign');
  return config.data;
}
