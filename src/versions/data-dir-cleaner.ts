import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheFileKind } from './cache-file-names.js';

export interface CleanResult {
  /** Names the cache produced that nothing needs any more: other versions, leftovers of interrupted writes. */
  readonly removed: string[];
  /** Entries the cache never produces, left where they are. A directory's name ends with `/`. */
  readonly foreign: string[];
}

/**
 * Removes from the data directory what the cache wrote and no longer needs: files named as cache-file-names.ts
 * makes them that are not in `keep` (temporary names never are: nothing is being written while this runs).
 * Anything else is someone else's, not the cache's: a wrong DATA_DIR must not cost anybody their files.
 */
export async function cleanDataDir(dataDir: string, keep: ReadonlySet<string>): Promise<CleanResult> {
  const entries = await readdir(dataDir, { withFileTypes: true });
  const removed: string[] = [];
  const foreign: string[] = [];
  for (const entry of entries) {
    const isFile = entry.isFile() || entry.isSymbolicLink();
    if (!isFile || cacheFileKind(entry.name) === undefined) {
      // A volume's lost+found is the file system's own: listing it on every start would only be noise.
      if (entry.name !== 'lost+found') foreign.push(entry.isDirectory() ? `${entry.name}/` : entry.name);
      continue;
    }
    if (keep.has(entry.name)) continue;
    await rm(join(dataDir, entry.name), { force: true });
    removed.push(entry.name);
  }
  return { removed, foreign: foreign.sort() };
}
