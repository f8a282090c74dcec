import { lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { StorageConfig } from '../config/app-config.js';

const PREFIX = 'assisted-image-service-';
/** What mkdtemp makes of PREFIX: six random characters appended. */
const SCRATCH_DIR_NAME = /^assisted-image-service-[A-Za-z0-9]{6}$/;
const OWNER_FILE = 'owner.json';
/**
 * A scratch directory without an owner record is stale once this old: a run writes its record right after
 * mkdtemp, so only a crash in between leaves a directory without one.
 */
const UNOWNED_STALE_MS = 60 * 60_000;

/** Which process made a scratch directory. `startedAt` tells a live owner from a later process with its pid. */
interface ScratchOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt?: string;
}

/**
 * The service's private scratch directory for template builds and nmstate extraction: made with mkdtemp (mode
 * 0700, an unpredictable name) inside DATA_TEMP_DIR, which may be a shared /tmp, and removed on shutdown. A run
 * that was killed cannot remove its own, so each start removes those of earlier runs whose process is gone;
 * the directory of a live process (another service on the host, a test) is never touched.
 */
@Injectable()
export class ScratchSpace implements OnApplicationShutdown {
  private readonly logger = new Logger(ScratchSpace.name);
  private created: Promise<string> | undefined;
  private closed = false;

  constructor(
    private readonly storage: StorageConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * Removes the scratch directories of earlier runs that are gone, then makes this run's. A failure is logged: it
   * fails only the steps that need scratch space, with the reason, when they run.
   */
  async open(): Promise<void> {
    const parent = this.storage.dataTempDir;
    try {
      await mkdir(parent, { recursive: true });
      for (const name of await readdir(parent)) {
        if (!SCRATCH_DIR_NAME.test(name)) continue;
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

  /** This run's scratch directory, made on first use. */
  dir(): Promise<string> {
    if (this.closed) return Promise.reject(new Error('the service is shutting down'));
    this.created ??= this.create().catch((error: unknown) => {
      this.created = undefined;
      throw error;
    });
    return this.created;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    const dir = await this.created?.catch(() => undefined);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }

  private async create(): Promise<string> {
    const parent = this.storage.dataTempDir;
    await mkdir(parent, { recursive: true });
    const dir = await mkdtemp(join(parent, PREFIX));
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

/**
 * The boot and start time of a process from Linux's /proc: a pid that is reused (or a container restarted as pid 1
 * again) has another. Undefined when the process does not exist or there is no /proc.
 */
async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const [stat, bootId] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile('/proc/sys/kernel/random/boot_id', 'utf8'),
    ]);
    // Fields after the command name, which may itself hold spaces and parentheses; start time is field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${bootId.trim()}/${fields[19] ?? ''}`;
  } catch {
    return undefined;
  }
}

async function readOwner(path: string): Promise<ScratchOwner | undefined> {
  try {
    const { pid, hostname: host, startedAt } = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0 || typeof host !== 'string') return undefined;
    return { pid, hostname: host, ...(typeof startedAt === 'string' && { startedAt }) };
  } catch {
    return undefined;
  }
}
