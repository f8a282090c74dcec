import { lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { StorageConfig } from '../config/app-config.js';
import { readJson } from './cache-files.js';

const PREFIX = 'assisted-image-service-';
/** What mkdtemp makes of PREFIX. */
const SCRATCH_DIR_NAME = new RegExp(`^${PREFIX}[A-Za-z0-9]{6}$`);
const OWNER_FILE = 'owner.json';
/** A run writes its owner record right after mkdtemp: only a crash in between leaves a directory without one. */
const UNOWNED_STALE_MS = 60 * 60_000;

/** Which process made a scratch directory; `startedAt` tells a live owner from a later process with its pid. */
type ScratchOwner = { readonly pid: number; readonly hostname: string; readonly startedAt?: string };

/** Runs the external tools under TOOL_TIMEOUT_SECONDS in a private scratch directory: DATA_TEMP_DIR may be shared. */
@Injectable()
export class ToolRunner implements OnApplicationShutdown {
  private readonly logger = new Logger(ToolRunner.name);
  private created: Promise<string> | undefined;
  private closed = false;

  constructor(
    private readonly storage: StorageConfig,
    private readonly clock: Clock,
  ) {}

  /** Removes killed runs' scratch directories and makes this run's; a failure fails only the steps that need it. */
  async openScratchSpace(): Promise<void> {
    const parent = this.storage.dataTempDir;
    try {
      await mkdir(parent, { recursive: true });
      for (const name of (await readdir(parent)).filter((name) => SCRATCH_DIR_NAME.test(name))) {
        const why = await staleness(join(parent, name), this.clock.now()).catch(() => undefined);
        if (why === undefined) continue;
        await rm(join(parent, name), { recursive: true, force: true });
        this.logger.log(`removed ${join(parent, name)}: ${why}`);
      }
      await this.dir();
    } catch (error) {
      this.logger.error(`cannot prepare scratch space in ${parent}: ${(error as Error).message}`);
    }
  }

  async options(signal: AbortSignal) {
    const timeout = { ms: this.storage.toolTimeoutSeconds * 1000, setting: 'TOOL_TIMEOUT_SECONDS' };
    return { workDir: await this.dir(), signal, timeout };
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    const dir = await this.created?.catch(() => undefined);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }

  private dir(): Promise<string> {
    if (this.closed) return Promise.reject(new Error('the service is shutting down'));
    this.created ??= this.create().catch((error: unknown) => {
      this.created = undefined;
      throw error;
    });
    return this.created;
  }

  private async create(): Promise<string> {
    await mkdir(this.storage.dataTempDir, { recursive: true });
    const dir = await mkdtemp(join(this.storage.dataTempDir, PREFIX));
    const startedAt = await processStartTime(process.pid);
    const owner: ScratchOwner = { pid: process.pid, hostname: hostname(), ...(startedAt && { startedAt }) };
    await writeFile(join(dir, OWNER_FILE), `${JSON.stringify(owner)}\n`);
    this.logger.log(`scratch space: ${dir}`);
    return dir;
  }
}

/** Why the directory is stale, or undefined when it is not ours to remove. */
async function staleness(path: string, now: number): Promise<string | undefined> {
  const stats = await lstat(path);
  // lstat: a symbolic link with our name is not a scratch directory, whatever it points to.
  if (!stats.isDirectory() || stats.uid !== process.getuid?.()) return undefined;
  const owner = await readOwner(join(path, OWNER_FILE));
  if (owner === undefined)
    return now - stats.mtimeMs > UNOWNED_STALE_MS ? 'left without an owner record by an earlier run' : undefined;
  // Another host's process (a shared volume) cannot be looked up from here.
  if (owner.hostname !== hostname()) return undefined;
  return (await isAlive(owner)) ? undefined : `its process ${owner.pid} is gone`;
}

async function isAlive(owner: ScratchOwner): Promise<boolean> {
  const startedAt = await processStartTime(owner.pid);
  if (startedAt !== undefined) return owner.startedAt === undefined || owner.startedAt === startedAt;
  // With /proc, a process it does not list is gone; without it, ask the kernel whether the pid exists.
  if ((await processStartTime(process.pid)) !== undefined) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Boot id and start time from Linux's /proc: a reused pid has another. Undefined for no such process, or no /proc. */
async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const [stat, bootId] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile('/proc/sys/kernel/random/boot_id', 'utf8'),
    ]);
    // Fields after the command name, which may itself hold spaces and parentheses; start time is field 22.
    return `${bootId.trim()}/${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''}`;
  } catch {
    return undefined;
  }
}

async function readOwner(path: string): Promise<ScratchOwner | undefined> {
  const { pid, hostname: host, startedAt } = await readJson(path);
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0 || typeof host !== 'string') return undefined;
  return { pid, hostname: host, ...(typeof startedAt === 'string' && { startedAt }) };
}
