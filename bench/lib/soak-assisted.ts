// The stand-in assisted-service for the soak: one infra-env answering all three calls normally (an Ignition of a
// few KiB, kernel_arguments with one append, a small static-network ramdisk), whatever api_key a request carries.
import { randomBytes, randomUUID } from 'node:crypto';
import { FakeAssistedService, type CallKind } from '../../test/support/fake-assisted-service.js';
import { buildRamdisk } from '../../test/support/ramdisk.js';
import { onCleanup } from './lifetime.js';
import type { OversizedTargets } from './soak-hostile.js';

/** The hostile share's oversized answers: an Ignition that cannot compress into 256 KiB, a ramdisk over 1 MiB. */
const HUGE_IGNITION_BYTES = 50e6;
const HUGE_RAMDISK_BYTES = 2 * 1024 * 1024;

export interface SoakAssisted {
  readonly url: string;
  readonly infraEnvId: string;
  /** Infra-envs whose answers do not fit the image, for the hostile share. */
  readonly oversized: OversizedTargets;
  /** Calls received so far, per kind: each one is a customisation-cache miss in the service. */
  readonly callCounts: () => Record<CallKind, number>;
}

function soakIgnition(): string {
  const payload = Buffer.alloc(3 * 1024, 'soak ').toString('base64');
  return JSON.stringify({
    ignition: { version: '3.2.0' },
    passwd: {
      users: [
        {
          name: 'core',
          sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISoakSoakSoakSoakSoakSoakSoakSoakSoakSoak soak'],
        },
      ],
    },
    storage: {
      files: [{ path: '/etc/assisted/soak.txt', mode: 420, contents: { source: `data:;base64,${payload}` } }],
    },
  });
}

/** A static-network config as assisted-service would send it for the minimal ISO and the PXE initrd. */
function soakRamdisk(): Promise<Buffer> {
  const nmconnection = [
    '[connection]',
    'id=eth0',
    'type=ethernet',
    'interface-name=eth0',
    '',
    '[ipv4]',
    'method=manual',
    'address1=192.0.2.10/24,192.0.2.1',
    '',
  ].join('\n');
  return buildRamdisk({ 'etc/NetworkManager/system-connections/eth0.nmconnection': nmconnection });
}

export async function startSoakAssisted(): Promise<SoakAssisted> {
  const infraEnvId = randomUUID();
  const fake = await new FakeAssistedService()
    .addInfraEnv({
      id: infraEnvId,
      ignition: soakIgnition(),
      lastModified: new Date(),
      ramdisk: await soakRamdisk(),
      kernelArguments: JSON.stringify([{ operation: 'append', value: 'soak.karg=1' }]),
    })
    .listen();
  onCleanup(() => fake.close());
  const oversized = { hugeIgnitionId: randomUUID(), hugeRamdiskId: randomUUID() };
  // Random bytes, base64'd: text that gzip cannot shrink much, as a config stuffed with certificates and blobs.
  fake.addInfraEnv({
    id: oversized.hugeIgnitionId,
    ignition: Buffer.from(randomBytes((HUGE_IGNITION_BYTES * 3) / 4).toString('base64')),
    lastModified: new Date(),
  });
  fake.addInfraEnv({
    id: oversized.hugeRamdiskId,
    ignition: soakIgnition(),
    lastModified: new Date(),
    ramdisk: randomBytes(HUGE_RAMDISK_BYTES),
  });
  const callCounts = (): Record<CallKind, number> => {
    const counts: Record<CallKind, number> = { ignition: 0, 'minimal-initrd': 0, 'infra-env': 0, other: 0 };
    for (const call of fake.calls) counts[call.kind] += 1;
    return counts;
  };
  return { url: fake.url, infraEnvId, oversized, callCounts };
}
