/** Test-only: independent views (xorriso, isoinfo, raw bytes) of an ISO's boot records. */
import { open } from 'node:fs/promises';
import { runTool } from '../fixtures/iso-fixture-tools.js';
import { listWithXorriso } from '../fixtures/xorriso.js';

const BLOCK = 2048;

/** El Torito entries as xorriso reports them, without the LBA column (files move in the template). */
export async function elToritoEntries(isoPath: string): Promise<string[]> {
  const { stdout, stderr } = await runTool('xorriso', ['-indev', isoPath, '-report_el_torito', 'plain']);
  return `${stdout.toString('utf8')}\n${stderr}`
    .split('\n')
    .filter((line) => /^El Torito (boot img|img path|img opts) *:/.test(line))
    .map((line) => (line.startsWith('El Torito boot img') ? line.trim().replace(/\s+\d+$/, '') : line.trim()))
    .map((line) => line.replace(/\s+/g, ' '));
}

/** The platform column of each El Torito boot image: 'BIOS', 'UEFI'. */
export function bootPlatforms(entries: string[]): string[] {
  return entries.filter((line) => line.startsWith('El Torito boot img')).map((line) => line.split(' ')[6] ?? '');
}

export interface IsoinfoSummary {
  volumeId: string;
  joliet: boolean;
  rockRidge: boolean;
}

export async function isoinfoSummary(isoPath: string): Promise<IsoinfoSummary> {
  const text = (await runTool('isoinfo', ['-d', '-i', isoPath])).stdout.toString('utf8');
  return {
    volumeId: /^Volume id: (.*)$/m.exec(text)?.[1]?.trim() ?? '',
    joliet: /^Joliet with UCS level \d found$/m.test(text),
    rockRidge: /^Rock Ridge signatures version \d found$/m.test(text),
  };
}

export async function readBytes(filePath: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(filePath, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export interface HybridSignatures {
  mbr: boolean;
  gpt: boolean;
}

/** MBR boot signature 0x55AA at 510 and the GPT header "EFI PART" at 512. */
export async function hybridSignatures(isoPath: string): Promise<HybridSignatures> {
  const head = await readBytes(isoPath, 0, 1024);
  return { mbr: head[510] === 0x55 && head[511] === 0xaa, gpt: head.toString('latin1', 512, 520) === 'EFI PART' };
}

export interface MbrPartition {
  type: number;
  /** In 512-byte sectors. */
  start: number;
  sectors: number;
}

export async function mbrPartitions(isoPath: string): Promise<MbrPartition[]> {
  const table = await readBytes(isoPath, 446, 64);
  const partitions: MbrPartition[] = [];
  for (let entry = 0; entry < 4; entry++) {
    const at = entry * 16;
    const type = table[at + 4] ?? 0;
    if (type !== 0 || table.readUInt32LE(at + 12) !== 0) {
      partitions.push({ type, start: table.readUInt32LE(at + 8), sectors: table.readUInt32LE(at + 12) });
    }
  }
  return partitions;
}

/** First 2048-byte block of `isoFilePath` according to xorriso. */
export async function xorrisoLba(isoPath: string, isoFilePath: string): Promise<number> {
  const row = (await listWithXorriso(isoPath)).find((entry) => entry.path === isoFilePath && entry.extent === 0);
  if (row === undefined) throw new Error(`xorriso does not list ${isoFilePath} in ${isoPath}`);
  return row.lba;
}

export interface BootInfoTable {
  pvdLba: number;
  fileLba: number;
  fileLength: number;
  checksum: number;
  /** Sum of the file's 32-bit little-endian words from byte 64 on, as mkisofs computes it. */
  expectedChecksum: number;
}

/** The El Torito boot-info table (bytes 8..24) of a boot file as stored in the ISO at `lba`. */
export async function bootInfoTable(isoPath: string, lba: number, length: number): Promise<BootInfoTable> {
  const data = await readBytes(isoPath, lba * BLOCK, length);
  let sum = 0;
  for (let at = 64; at + 4 <= data.length; at += 4) sum = (sum + data.readUInt32LE(at)) >>> 0;
  return {
    pvdLba: data.readUInt32LE(8),
    fileLba: data.readUInt32LE(12),
    fileLength: data.readUInt32LE(16),
    checksum: data.readUInt32LE(20),
    expectedChecksum: sum,
  };
}
