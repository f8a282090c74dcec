// A tiny initramfs (static busybox + /init) that reports what the kernel unpacked from every initrd
// it was given, on the serial line, then powers off. See boot-report.ts for the format.
import { readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { buildNewcArchive, type CpioEntry } from '../../src/iso/index.js';
import { pathExists } from '../fixtures/iso-fixture-tools.js';
import {
  ABSENT,
  FILE_PREFIX,
  INLINE_FILE_LIMIT,
  PRESENT,
  REPORTED_DIRECTORIES,
  REPORT_MARKERS,
} from './boot-report.js';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

/** Applets /init calls; each becomes a /bin symlink so the script does not depend on busybox's build options. */
const APPLETS = [
  'sh',
  'mount',
  'cat',
  'echo',
  'base64',
  'sha256sum',
  'stat',
  'find',
  'sort',
  'cut',
  'poweroff',
  'sync',
  'sleep',
];
const GUEST_MOUNT_POINTS = ['dev', 'proc', 'sys'];

/**
 * Output goes straight to ttyS0, not through /dev/console, so the report reaches the serial line whatever
 * console= says. printk is turned down first: kernel messages must not land inside the report.
 * A write returns once the bytes are in the UART driver's buffer (up to 4 KiB), and power-off drops whatever is
 * still there; the last close of ttyS0 waits until the UART has sent everything, so the report ends with a close.
 */
export function initScript(): string {
  const m = REPORT_MARKERS;
  return `#!/bin/sh
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
exec </dev/null >/dev/ttyS0 2>&1
echo 1 > /proc/sys/kernel/printk
echo
echo ${m.begin}
echo ${m.cmdline}
cat /proc/cmdline
echo ${m.ignition}
if [ -f /config.ign ]; then base64 -w 76 /config.ign; else echo ${ABSENT}; fi
echo ${m.files}
for dir in ${REPORTED_DIRECTORIES.join(' ')}; do
  [ -d "$dir" ] || continue
  find "$dir" -type f | sort | while read -r file; do
    size=$(stat -c %s "$file")
    sum=$(sha256sum "$file" | cut -d ' ' -f 1)
    echo "${FILE_PREFIX}$size $sum $file"
    if [ "$size" -le ${INLINE_FILE_LIMIT} ]; then base64 -w 76 "$file"; fi
  done
done
echo ${m.nmstatectl}
if [ -f /usr/bin/nmstatectl ]; then
  echo "${PRESENT} $(sha256sum /usr/bin/nmstatectl | cut -d ' ' -f 1)"
else
  echo ${ABSENT}
fi
echo ${m.end}
exec >/dev/null 2>&1
sync
poweroff -f
sleep 5
`;
}

class GuestInitramfsError extends Error {
  override readonly name = 'GuestInitramfsError';
}

export async function findBusybox(): Promise<string | undefined> {
  for (const candidate of BUSYBOX_CANDIDATES) if (await pathExists(candidate)) return candidate;
  return undefined;
}

async function guestEntries(): Promise<CpioEntry[]> {
  const busyboxPath = await findBusybox();
  if (busyboxPath === undefined) {
    throw new GuestInitramfsError(`no static busybox at ${BUSYBOX_CANDIDATES.join(' or ')} (install busybox-static)`);
  }
  const directory = 0o040755;
  return [
    ...GUEST_MOUNT_POINTS.map((name) => ({ path: name, data: Buffer.alloc(0), mode: directory })),
    { path: 'bin/busybox', data: await readFile(busyboxPath), mode: 0o100755 },
    // A newc symlink's data is its target.
    ...APPLETS.map((applet) => ({ path: `bin/${applet}`, data: Buffer.from('busybox'), mode: 0o120777 })),
    { path: 'init', data: Buffer.from(initScript()), mode: 0o100755 },
  ];
}

let cachedImage: Promise<Buffer> | undefined;

/** The gzip'd newc image, built once per test process. */
export function guestInitramfs(): Promise<Buffer> {
  cachedImage ??= guestEntries().then((entries) => gzipSync(buildNewcArchive(entries)));
  cachedImage.catch(() => {
    cachedImage = undefined;
  });
  return cachedImage;
}

export async function buildGuestInitramfs(outPath: string): Promise<void> {
  await writeFile(outPath, await guestInitramfs());
}
