import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { missingTools } from '../fixtures/iso-fixture-tools.js';
import { buildGuestInitramfs, findBusybox, initScript } from './guest-initramfs.js';

const run = promisify(execFile);
const busybox = await findBusybox();
const missing = await missingTools(['cpio', 'gzip', 'sh']);
const skipReason =
  busybox === undefined ? 'no static busybox' : missing.length > 0 ? `missing ${missing.join(', ')}` : '';
if (skipReason !== '') console.warn(`skipping guest initramfs tests: ${skipReason}`);

describe('buildGuestInitramfs', () => {
  let work: string;
  let image: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'guest-initramfs-'));
    image = path.join(work, 'guest.img');
    await buildGuestInitramfs(image);
  });

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('is a gzip newc cpio with an executable /init, busybox and applet links', async () => {
    await run('gzip', ['-t', image]);
    const { stdout } = await run('sh', ['-c', `gzip -dc "${image}" | cpio -itv --quiet`]);
    const lines = stdout.split('\n');
    expect(lines.find((line) => line.endsWith(' init'))).toMatch(/^-rwxr-xr-x/);
    expect(lines.find((line) => line.endsWith(' bin/busybox'))).toMatch(/^-rwxr-xr-x/);
    for (const applet of ['sh', 'mount', 'base64', 'sha256sum', 'poweroff']) {
      expect(lines.find((line) => line.endsWith(` bin/${applet} -> busybox`))).toMatch(/^l/);
    }
    for (const dir of ['dev', 'proc', 'sys']) expect(lines.find((line) => line.endsWith(` ${dir}`))).toMatch(/^d/);
  });

  it('carries the host busybox byte for byte and an init script the shell accepts', async () => {
    const extract = path.join(work, 'extract');
    await run('sh', [
      '-c',
      `mkdir "${extract}" && cd "${extract}" && gzip -dc "${image}" | cpio -idm --quiet bin/busybox init`,
    ]);
    expect((await readFile(path.join(extract, 'bin/busybox'))).equals(await readFile(busybox ?? ''))).toBe(true);
    expect(await readFile(path.join(extract, 'init'), 'utf8')).toBe(initScript());
    const script = path.join(work, 'init.sh');
    await writeFile(script, initScript());
    await run('sh', ['-n', script]);
  });
});

describe('initScript', () => {
  // Power-off drops what the UART driver still buffers; the last close of ttyS0 is what waits for it to drain.
  it('closes the serial line after the end marker and before powering off', () => {
    const lines = initScript().split('\n');
    const end = lines.findIndex((line) => line.includes('===BOOT-REPORT-END==='));
    const close = lines.findIndex((line) => line === 'exec >/dev/null 2>&1');
    const poweroff = lines.findIndex((line) => line.startsWith('poweroff'));
    expect(end).toBeGreaterThan(0);
    expect(close).toBeGreaterThan(end);
    expect(poweroff).toBeGreaterThan(close);
    expect(lines.slice(close + 1).some((line) => /ttyS0|\becho\b/.test(line))).toBe(false);
  });
});
