// `make demo`: builds a small CoreOS-like ISO with real tools, starts a stand-in assisted-service on loopback
// and the built service with a file:// catalog pointing at the sample, then shows the cache becoming ready and
// prints requests to try. Ctrl-C stops everything.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildFixtureIso } from '../test/fixtures/iso-fixture.js';
import { FakeAssistedService } from '../test/support/fake-assisted-service.js';
import { buildRamdisk } from '../test/support/ramdisk.js';

const ROOT = resolve(import.meta.dirname, '..');
const WORK = join(ROOT, '.demo');
const PORT = Number(process.env.DEMO_PORT ?? 8080);
const INFRA_ENV_ID = '2f4ab8c5-6a3e-4c1d-9b7f-0e5d3c2a1b90';
const OPENSHIFT_VERSION = '4.18';
const RHCOS_VERSION = '418.94.202501010000-0';

const DEMO_IGNITION = JSON.stringify({
  ignition: { version: '3.2.0' },
  storage: { files: [{ path: '/etc/assisted/demo.txt', contents: { source: 'data:,hello%20from%20the%20demo' } }] },
});

async function main(): Promise<void> {
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  step('building a sample CoreOS-like live ISO (xorriso, isolinux, GRUB EFI image, isohybrid)');
  const iso = await buildFixtureIso({
    outPath: join(WORK, 'rhcos-demo-live.x86_64.iso'),
    rootfsSizeBytes: 8 * 1024 * 1024,
  });
  step(`  ${iso.path} (${(iso.size / 1024 / 1024).toFixed(1)} MiB, volume ID ${iso.volumeId})`);

  const assisted = await new FakeAssistedService()
    .addInfraEnv({
      id: INFRA_ENV_ID,
      ignition: DEMO_IGNITION,
      lastModified: new Date(),
      kernelArguments: JSON.stringify([{ operation: 'append', value: 'demo.karg=1' }]),
      ramdisk: await buildRamdisk({
        'etc/assisted/network/eth0.nmconnection': '[connection]\nid=eth0\ntype=ethernet\n',
      }),
    })
    .listen();
  step(`stand-in assisted-service on ${assisted.url} (infra-env ${INFRA_ENV_ID})`);

  const catalog = [
    {
      openshift_version: OPENSHIFT_VERSION,
      cpu_architecture: 'x86_64',
      url: `file://${iso.path}`,
      version: RHCOS_VERSION,
    },
  ];
  const logFile = join(WORK, 'service.log');
  const service = spawn(process.execPath, [join(ROOT, 'dist/main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      LISTEN_PORT: String(PORT),
      DATA_DIR: join(WORK, 'data'),
      DATA_TEMP_DIR: join(WORK, 'tmp'),
      OS_IMAGES: JSON.stringify(catalog),
      ASSISTED_SERVICE_URL: assisted.url,
      IMAGE_SERVICE_BASE_URL: `http://127.0.0.1:${PORT}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  service.stdout.pipe(log);
  service.stderr.pipe(process.stderr);
  const stopAll = async (code: number): Promise<never> => {
    service.kill('SIGTERM');
    await assisted.close();
    process.exit(code);
  };
  service.once('exit', (code) => {
    step(`the service exited (${code ?? 'signal'}); its log is ${logFile}`);
    void stopAll(code === 0 ? 0 : 1);
  });
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));
  step(`assisted-image-service on http://127.0.0.1:${PORT} (JSON logs in ${logFile})`);

  await showReadiness(`http://127.0.0.1:${PORT}`);
  printTryLines(`http://127.0.0.1:${PORT}`);
}

async function showReadiness(baseUrl: string): Promise<void> {
  const started = Date.now();
  let last = '';
  for (;;) {
    const summary = await fetch(`${baseUrl}/health`).then(
      async (response) => ({
        code: response.status,
        body: JSON.stringify(((await response.json()) as { details?: unknown }).details ?? {}),
      }),
      () => undefined,
    );
    if (summary !== undefined && summary.body !== last) {
      last = summary.body;
      step(`  /health ${summary.code} ${summary.body}`);
    }
    if (summary?.code === 200) {
      step(`cache ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function printTryLines(baseUrl: string): void {
  const image = `${baseUrl}/images/${INFRA_ENV_ID}`;
  const lines = [
    `curl -o full.iso "${image}?version=${OPENSHIFT_VERSION}&arch=x86_64&type=full-iso"`,
    `xorriso -osirrox on -indev full.iso -extract /images/ignition.img ign.img 2>/dev/null && gzip -dc < ign.img | cpio -i --quiet --to-stdout config.ign; echo`,
    `xorriso -osirrox on -indev full.iso -extract /EFI/redhat/grub.cfg grub.cfg 2>/dev/null && grep demo.karg grub.cfg`,
    `curl -o minimal.iso "${baseUrl}/byid/${INFRA_ENV_ID}/${OPENSHIFT_VERSION}/x86_64/minimal.iso"`,
    `curl -I "${image}?version=${RHCOS_VERSION}"                        # exact length, no body`,
    `curl -s -r 0-65535 "${image}?version=${OPENSHIFT_VERSION}" | wc -c    # one 64 KiB range, as a BMC reads`,
    `curl -o initrd.img "${image}/pxe-initrd?version=${OPENSHIFT_VERSION}"`,
    `curl -o vmlinuz "${baseUrl}/boot-artifacts/kernel?version=${OPENSHIFT_VERSION}"`,
    `curl -i ${baseUrl}/health`,
    `curl -s ${baseUrl}/metrics | grep -E 'assisted_image_service_(cache_images|http_requests_inflight)'`,
    `open ${baseUrl}/docs in a browser for the interactive API page (${baseUrl}/openapi.json for the document)`,
  ];
  step('\nTry:');
  for (const line of lines) step(`  ${line}`);
  step('\nCtrl-C stops the demo.');
}

function step(text: string): void {
  process.stdout.write(`${text}\n`);
}

void main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
