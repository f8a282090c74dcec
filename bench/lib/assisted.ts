// The stand-in assisted-service for download benches: one infra-env whose Ignition is a few KiB and whose
// kernel_arguments hold one append, so every download is really customised.
import { randomUUID } from 'node:crypto';
import { FakeAssistedService } from '../../test/support/fake-assisted-service.js';
import { onCleanup } from './lifetime.js';

export interface BenchAssisted {
  readonly url: string;
  readonly infraEnvId: string;
  readonly ignitionBytes: number;
  /** Calls received so far (shows how often the service asked rather than reusing its customisation cache). */
  readonly callCount: () => number;
}

function benchIgnition(): string {
  // ~4 KiB of file content, as a small discovery Ignition would carry (SSH key, a unit, a few files).
  const payload = Buffer.alloc(3 * 1024, 'bench ').toString('base64');
  return JSON.stringify({
    ignition: { version: '3.2.0' },
    passwd: {
      users: [
        {
          name: 'core',
          sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchBenchBenchBenchBenchBenchBenchBench bench'],
        },
      ],
    },
    storage: {
      files: [{ path: '/etc/assisted/bench.txt', mode: 420, contents: { source: `data:;base64,${payload}` } }],
    },
  });
}

export async function startBenchAssisted(): Promise<BenchAssisted> {
  const infraEnvId = randomUUID();
  const ignition = benchIgnition();
  const fake = await new FakeAssistedService()
    .addInfraEnv({
      id: infraEnvId,
      ignition,
      lastModified: new Date(),
      kernelArguments: JSON.stringify([{ operation: 'append', value: 'bench.karg=1' }]),
    })
    .listen();
  onCleanup(() => fake.close());
  return { url: fake.url, infraEnvId, ignitionBytes: Buffer.byteLength(ignition), callCount: () => fake.calls.length };
}
