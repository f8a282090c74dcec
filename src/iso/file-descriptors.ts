/** Who opens the files a download reads: each stream its own, or one descriptor per file shared by all (docs/architecture.md). */
import fs from 'node:fs';

export type OpenFile = { readonly fd: number };
/** A reader gives back each file it acquired with `release` once, whatever happened. */
export type FileAccess = { acquire(path: string): OpenFile; release(file: OpenFile): void };

/** A descriptor per reader, closed when the reader is done: for one-off reads, and the default. */
export const OWN_DESCRIPTORS: FileAccess = {
  acquire: (path) => ({ fd: fs.openSync(path, 'r') }),
  release: (file) => fs.closeSync(file.fd),
};

interface Shared extends OpenFile {
  readonly path: string;
  readonly ino: number;
  readonly dev: number;
  readers: number;
  idleSince: number;
  /** No longer handed out: closed when its last reader lets go. */
  retired: boolean;
}

/**
 * One read-only descriptor per file for every reader at once (reads are positional), open while used and `idleMs` after.
 * The first reader after an idle spell checks that the path still names the same file (one stat): a file replaced or
 * removed on disk is then opened afresh (or fails as it would), while readers of the old one finish with it.
 */
export class SharedDescriptors implements FileAccess {
  private readonly open = new Map<string, Shared>();
  private readers = 0;

  constructor(private readonly idleMs = 60_000) {}

  /** Descriptors that new readers would get, and readers holding any descriptor: for tests. */
  get usage(): { readonly open: number; readonly readers: number } {
    return { open: this.open.size, readers: this.readers };
  }

  acquire(path: string): OpenFile {
    let shared = this.open.get(path);
    if (shared?.readers === 0 && !namesSameFile(shared)) this.retire(shared);
    if (shared === undefined || shared.retired) {
      const fd = fs.openSync(path, 'r');
      const { ino, dev } = fs.fstatSync(fd);
      shared = { fd, path, ino, dev, readers: 0, idleSince: 0, retired: false };
      this.open.set(path, shared);
    }
    shared.readers += 1;
    this.readers += 1;
    return shared;
  }

  release(file: OpenFile): void {
    const shared = file as Shared;
    shared.readers -= 1;
    this.readers -= 1;
    if (shared.readers > 0) return;
    shared.idleSince = Date.now();
    if (shared.retired) fs.closeSync(shared.fd);
  }

  /** Closes descriptors idle for `idleMs` and retires those whose path names another file now, or none. */
  sweep(now = Date.now()): void {
    for (const shared of this.open.values()) {
      const idle = shared.readers === 0 && now - shared.idleSince >= this.idleMs;
      if (idle || !namesSameFile(shared)) this.retire(shared);
    }
  }

  /** At shutdown: nothing is handed out any more; what is in use closes as its readers finish. */
  closeAll(): void {
    for (const shared of this.open.values()) this.retire(shared);
  }

  private retire(shared: Shared): void {
    this.open.delete(shared.path);
    shared.retired = true;
    if (shared.readers === 0) fs.closeSync(shared.fd);
  }
}

function namesSameFile(shared: Shared): boolean {
  const now = fs.statSync(shared.path, { throwIfNoEntry: false });
  return now !== undefined && now.ino === shared.ino && now.dev === shared.dev;
}
