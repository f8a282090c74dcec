/**
 * The Ignition payload: what goes over the ISO's Ignition area and after the PXE initrd. The
 * kernel unpacks it as one more initramfs, so Ignition finds `/config.ign` at first boot.
 */
import { gzipSync } from 'node:zlib';
import { buildNewcArchive, paddingTo4, type CpioEntry } from './cpio.js';

export const IGNITION_CONFIG_NAME = 'config.ign';
export const IGNITION_CONFIG_MODE = 0o100644;
export const NMSTATECTL_ARCHIVE_PATH = 'usr/bin/nmstatectl';
export const NMSTATECTL_MODE = 0o100755;

/** gzip-compressed newc cpio of `entries`, zero-padded to a multiple of 4 bytes. */
export function buildCompressedCpio(entries: CpioEntry[]): Buffer {
  const compressed = gzipSync(buildNewcArchive(entries));
  // The kernel looks for the next archive of a concatenated initrd at a 4-byte boundary and
  // skips zero bytes to get there, so padding keeps whatever follows (ramdisk, nmstate) readable.
  const padding = paddingTo4(compressed.length);
  return padding === 0 ? compressed : Buffer.concat([compressed, Buffer.alloc(padding)]);
}

/** The Ignition payload for `ignition` (the config bytes as assisted-service returned them). */
export function buildIgnitionPayload(ignition: Buffer): Buffer {
  return buildCompressedCpio([{ path: IGNITION_CONFIG_NAME, data: ignition, mode: IGNITION_CONFIG_MODE }]);
}

/** The `nmstate.img` ramdisk holding the nmstatectl binary at /usr/bin/nmstatectl. */
export function buildNmstateRamdisk(nmstatectl: Buffer): Buffer {
  return buildCompressedCpio([{ path: NMSTATECTL_ARCHIVE_PATH, data: nmstatectl, mode: NMSTATECTL_MODE }]);
}
