// The report the guest initramfs prints on the serial line, and its parser. The markers live here so the
// /init script (guest-initramfs.ts) and the parser cannot drift apart.
import { createHash } from 'node:crypto';

export const REPORT_MARKERS = {
  begin: '===BOOT-REPORT-BEGIN===',
  cmdline: '===CMDLINE===',
  ignition: '===IGNITION===',
  files: '===FILES===',
  nmstatectl: '===NMSTATECTL===',
  end: '===BOOT-REPORT-END===',
} as const;

/** Directories whose files the guest reports (what an assisted ramdisk unpacks into). */
export const REPORTED_DIRECTORIES = ['/etc/assisted', '/etc/NetworkManager/system-connections'] as const;
/** Files up to this size are printed whole (base64); bigger ones only by size and digest. */
export const INLINE_FILE_LIMIT = 64 * 1024;
export const ABSENT = 'ABSENT';
export const PRESENT = 'PRESENT';
/** Starts a file header line in the FILES section: `FILE <size> <sha256> <path>`. A space is not base64. */
export const FILE_PREFIX = 'FILE ';

interface FileDigest {
  size: number;
  sha256: string;
}

export interface ParsedBootReport {
  cmdline: string;
  ignition?: Buffer;
  /** Guest path -> contents (small files) or size and digest (big ones). */
  files: Map<string, Buffer | FileDigest>;
  nmstatectlSha256?: string;
}

/** The serial log holds no complete report, or a report that does not parse. */
export class BootReportError extends Error {
  override readonly name = 'BootReportError';
}

export function hasCompleteReport(serial: string): boolean {
  const begin = serial.lastIndexOf(REPORT_MARKERS.begin);
  return begin >= 0 && serial.indexOf(REPORT_MARKERS.end, begin) >= 0;
}

/** Parses the last complete report in a serial log (CR/LF line ends and firmware noise around it are fine). */
export function parseBootReport(serial: string): ParsedBootReport {
  const sections = splitSections(reportLines(serial));
  const cmdline = sections.get(REPORT_MARKERS.cmdline)?.join(' ').trim();
  if (cmdline === undefined) throw new BootReportError('boot report has no CMDLINE section');
  return {
    cmdline,
    ignition: parseIgnition(section(sections, REPORT_MARKERS.ignition)),
    files: parseFiles(section(sections, REPORT_MARKERS.files)),
    nmstatectlSha256: parseNmstatectl(section(sections, REPORT_MARKERS.nmstatectl)),
  };
}

function reportLines(serial: string): string[] {
  const begin = serial.lastIndexOf(REPORT_MARKERS.begin);
  const end = begin < 0 ? -1 : serial.indexOf(REPORT_MARKERS.end, begin);
  if (end < 0) throw new BootReportError('serial log holds no complete boot report');
  return serial
    .slice(begin + REPORT_MARKERS.begin.length, end)
    .replace(/\r/g, '')
    .split('\n');
}

function splitSections(lines: string[]): Map<string, string[]> {
  const markers = new Set<string>(Object.values(REPORT_MARKERS));
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of lines) {
    if (markers.has(line.trim())) {
      current = [];
      sections.set(line.trim(), current);
    } else if (current !== undefined && line.trim() !== '') {
      current.push(line.trim());
    }
  }
  return sections;
}

function section(sections: Map<string, string[]>, marker: string): string[] {
  const lines = sections.get(marker);
  if (lines === undefined) throw new BootReportError(`boot report has no ${marker} section`);
  return lines;
}

function decodeBase64(lines: string[], what: string): Buffer {
  const text = lines.join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new BootReportError(`${what}: not base64 (serial corruption?)`);
  }
  return Buffer.from(text, 'base64');
}

function parseIgnition(lines: string[]): Buffer | undefined {
  if (lines.length === 1 && lines[0] === ABSENT) return undefined;
  return decodeBase64(lines, 'IGNITION');
}

function parseNmstatectl(lines: string[]): string | undefined {
  const [line = ''] = lines;
  if (line === ABSENT) return undefined;
  const match = /^PRESENT ([0-9a-f]{64})$/.exec(line);
  if (match?.[1] === undefined) throw new BootReportError(`NMSTATECTL: unexpected line '${line}'`);
  return match[1];
}

const FILE_HEADER = /^FILE (\d+) ([0-9a-f]{64}) (.+)$/;

function parseFiles(lines: string[]): Map<string, Buffer | FileDigest> {
  const files = new Map<string, Buffer | FileDigest>();
  let index = 0;
  while (index < lines.length) {
    const header = FILE_HEADER.exec(lines[index] ?? '');
    if (header === null) throw new BootReportError(`FILES: expected a FILE line, got '${lines[index]}'`);
    const [, size = '0', sha256 = '', guestPath = ''] = header;
    const body: string[] = [];
    for (index++; index < lines.length && !(lines[index] ?? '').startsWith(FILE_PREFIX); index++) {
      body.push(lines[index] ?? '');
    }
    files.set(guestPath, fileEntry(guestPath, { size: Number(size), sha256 }, body));
  }
  return files;
}

/** Inline contents are checked against the guest's own size and digest, so a garbled line cannot pass. */
function fileEntry(guestPath: string, digest: FileDigest, body: string[]): Buffer | FileDigest {
  if (digest.size > INLINE_FILE_LIMIT) return digest;
  const data = decodeBase64(body, `FILES ${guestPath}`);
  const actual = createHash('sha256').update(data).digest('hex');
  if (data.length !== digest.size || actual !== digest.sha256) {
    throw new BootReportError(`FILES ${guestPath}: contents do not match the guest's size/sha256`);
  }
  return data;
}
