// Boots an ISO (or a kernel + initrd) in QEMU with the reporting guest and returns what the guest saw.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { pathExists } from '../fixtures/iso-fixture-tools.js';
import {
  BootReportError,
  REPORT_MARKERS,
  hasCompleteReport,
  parseBootReport,
  type ParsedBootReport,
} from './boot-report.js';
import { findHostKernel } from './host-kernel.js';
import { isUefiMode, qemuArgs, type BootRequest, type BootResources, type OvmfFirmware } from './qemu-args.js';

export type { BootMode, BootRequest } from './qemu-args.js';
export interface BootReport extends ParsedBootReport {
  /** Wall time from starting QEMU until it exited. */
  seconds: number;
  /** Everything the guest wrote on the serial line. */
  serial: string;
}

const QEMU_BINARY = 'qemu-system-x86_64';
/** Plain (not Secure Boot) builds: those need SMM and q35. 4 MiB first, as Debian's default. */
const OVMF_CANDIDATES: readonly OvmfFirmware[] = [
  { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
  { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' },
];
const DEFAULT_TIMEOUT_MS = 90_000;
/** After the report, the guest powers off; give it this long before killing it. */
const POWEROFF_GRACE_MS = 10_000;
const SERIAL_TAIL_CHARS = 4_000;
/** A looping guest must not eat the test's memory: beyond this, only the newest output is kept. */
const MAX_SERIAL_CHARS = 8 * 1024 * 1024;

/** The boot timed out, QEMU failed, or the guest's report was missing or garbled. */
export class QemuBootError extends Error {
  override readonly name = 'QemuBootError';
  constructor(
    message: string,
    readonly serialTail: string,
    readonly stderr: string,
  ) {
    super(
      `${message}\n--- serial log tail ---\n${serialTail}${stderr.trim() ? `\n--- qemu stderr ---\n${stderr.trim()}` : ''}`,
    );
  }
}

async function findOvmf(): Promise<OvmfFirmware | undefined> {
  for (const firmware of OVMF_CANDIDATES) {
    if ((await pathExists(firmware.code)) && (await pathExists(firmware.vars))) return firmware;
  }
  return undefined;
}

let availability: Promise<{ ok: boolean; reason?: string }> | undefined;

/** Whether QEMU and the UEFI firmware are installed (checked once per process). */
export function qemuAvailable(): Promise<{ ok: boolean; reason?: string }> {
  availability ??= checkAvailability();
  return availability;
}

async function checkAvailability(): Promise<{ ok: boolean; reason?: string }> {
  const runs = await new Promise<boolean>((resolve) => {
    execFile(QEMU_BINARY, ['-version'], (error) => resolve(error === null));
  });
  if (!runs) return { ok: false, reason: `${QEMU_BINARY} is not installed or does not run (qemu-system-x86)` };
  if ((await findOvmf()) === undefined) {
    return { ok: false, reason: `no OVMF firmware (${OVMF_CANDIDATES.map((f) => f.code).join(' or ')}; package ovmf)` };
  }
  return { ok: true };
}

export async function bootAndReport(req: BootRequest): Promise<BootReport> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'qemu-boot-'));
  try {
    const args = qemuArgs(req, await prepareResources(req, work));
    const run = await runQemu(args, req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    return { ...parseRun(req, run), seconds: run.seconds, serial: run.serial };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function prepareResources(req: BootRequest, work: string): Promise<BootResources> {
  if (req.mode === 'direct-kernel') return { kernel: req.kernel ?? (await findHostKernel()) };
  if (!isUefiMode(req.mode)) return {};
  const ovmf = await findOvmf();
  if (ovmf === undefined) return {};
  // OVMF writes its variable store (boot entries); the packaged file must stay pristine.
  const ovmfVarsCopy = path.join(work, 'OVMF_VARS.fd');
  await copyFile(ovmf.vars, ovmfVarsCopy);
  return { ovmf, ovmfVarsCopy };
}

function parseRun(req: BootRequest, run: QemuRun): ParsedBootReport {
  const tail = run.serial.slice(-SERIAL_TAIL_CHARS);
  if (!hasCompleteReport(run.serial)) {
    const why = run.timedOut
      ? `timed out after ${run.seconds.toFixed(1)} s`
      : `exited (${run.signal ?? `code ${run.code}`}) after ${run.seconds.toFixed(1)} s`;
    throw new QemuBootError(
      `${req.mode} boot of ${req.image ?? req.url ?? req.kernel ?? 'kernel'} ${why} without a boot report`,
      tail,
      run.stderr,
    );
  }
  try {
    return parseBootReport(run.serial);
  } catch (error) {
    if (error instanceof BootReportError) throw new QemuBootError(`${req.mode}: ${error.message}`, tail, run.stderr);
    throw error;
  }
}

interface QemuRun {
  serial: string;
  stderr: string;
  seconds: number;
  timedOut: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Process groups of running QEMUs, killed if the test process exits first. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function track(pid: number): void {
  liveGroups.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const group of liveGroups) killGroup(group);
  });
}

function runQemu(args: string[], timeoutMs: number): Promise<QemuRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // Its own process group, so the hard timeout kills QEMU and anything it started.
    const child = spawn(QEMU_BINARY, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const serial = new SerialBuffer();
    let stderr = '';
    let timedOut = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      if (child.pid !== undefined) killGroup(child.pid);
    };
    const hardTimer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    if (child.pid !== undefined) track(child.pid);
    child.stdout.on('data', (chunk: Buffer) => {
      serial.append(chunk);
      if (graceTimer === undefined && serial.hasReport()) graceTimer = setTimeout(kill, POWEROFF_GRACE_MS);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-SERIAL_TAIL_CHARS);
    });
    const finish = (): void => {
      clearTimeout(hardTimer);
      clearTimeout(graceTimer);
      if (child.pid !== undefined) liveGroups.delete(child.pid);
    };
    child.on('error', (error) => {
      finish();
      kill();
      reject(error);
    });
    child.on('close', (code, signal) => {
      finish();
      const seconds = (performance.now() - started) / 1000;
      resolve({ serial: serial.text(), stderr, seconds, timedOut, code, signal });
    });
  });
}

/** Accumulates serial output as text and notices the end of the report without rescanning everything. */
class SerialBuffer {
  private readonly decoder = new StringDecoder('utf8');
  private content = '';
  private scanned = 0;
  private reportSeen = false;

  append(chunk: Buffer): void {
    this.content += this.decoder.write(chunk);
    if (this.content.length > MAX_SERIAL_CHARS) {
      const dropped = this.content.length - MAX_SERIAL_CHARS / 2;
      this.content = this.content.slice(dropped);
      this.scanned = Math.max(0, this.scanned - dropped);
    }
  }

  /** The end marker is printed only after a whole report, so it alone says the guest is done. */
  hasReport(): boolean {
    if (!this.reportSeen) {
      const from = Math.max(0, this.scanned - REPORT_MARKERS.end.length);
      this.reportSeen = this.content.includes(REPORT_MARKERS.end, from);
      this.scanned = this.content.length;
    }
    return this.reportSeen;
  }

  text(): string {
    return this.content + this.decoder.end();
  }
}
