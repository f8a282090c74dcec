import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppOptions } from '../../src/app.module.js';
import { buildFixtureIso, type FixtureIso, type FixtureIsoOptions } from '../fixtures/iso-fixture.js';
import { FakeAssistedService, type InfraEnvFixture } from './fake-assisted-service.js';
import { startTestApp, waitFor, type TestApp } from './test-app.js';

export interface CatalogFixture {
  readonly name: string;
  readonly openshiftVersion: string;
  readonly version: string;
  readonly arch?: 'x86_64' | 'arm64' | 'ppc64le' | 's390x';
  readonly type?: 'full-iso' | 'disconnected-iso';
  readonly iso?: Omit<FixtureIsoOptions, 'outPath' | 'arch'>;
  /** An ISO built elsewhere (e.g. a bootable one) to catalog as is; `iso` is then ignored. It is not removed on close. */
  readonly prebuilt?: FixtureIso;
}

export interface DownloadEnv {
  readonly app: TestApp;
  readonly assisted: FakeAssistedService;
  readonly isos: Record<string, FixtureIso>;
  readonly work: string;
  close(): Promise<void>;
}

/**
 * Fixture ISOs built with real tools, a stand-in assisted-service on loopback and the real app with a file://
 * catalog of the fixtures, started and ready.
 */
export async function startDownloadEnv(options: {
  fixtures: readonly CatalogFixture[];
  infraEnvs: readonly InfraEnvFixture[];
  env?: Record<string, string>;
  appOptions?: AppOptions;
  waitUntilReady?: boolean;
}): Promise<DownloadEnv> {
  const work = await mkdtemp(join(tmpdir(), 'downloads-'));
  const built = await Promise.all(
    options.fixtures.map(async (fixture) => {
      if (fixture.prebuilt !== undefined) return [fixture.name, fixture.prebuilt] as const;
      const iso = await buildFixtureIso({
        ...fixture.iso,
        arch: fixture.arch ?? 'x86_64',
        outPath: join(work, `${fixture.name}.iso`),
      });
      return [fixture.name, iso] as const;
    }),
  );
  const isos = Object.fromEntries(built);
  const assisted = await new FakeAssistedService().listen();
  for (const infraEnv of options.infraEnvs) assisted.addInfraEnv(infraEnv);
  const catalog = options.fixtures.map((fixture) => ({
    openshift_version: fixture.openshiftVersion,
    cpu_architecture: fixture.arch ?? 'x86_64',
    url: `file://${isos[fixture.name]?.path ?? ''}`,
    version: fixture.version,
    type: fixture.type ?? 'full-iso',
  }));
  const app = await startTestApp(
    {
      DATA_DIR: join(work, 'data'),
      DATA_TEMP_DIR: join(work, 'tmp'),
      OS_IMAGES: JSON.stringify(catalog),
      ASSISTED_SERVICE_URL: assisted.url,
      ...options.env,
    },
    options.appOptions,
  );
  if (options.waitUntilReady ?? true) {
    await waitFor(
      async () => ((await fetch(`${app.baseUrl}/health`)).status === 200 ? true : undefined),
      30_000,
      'the cache to be ready',
    );
  }
  return {
    app,
    assisted,
    isos,
    work,
    close: async () => {
      await app.close();
      await assisted.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}
