import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface CleanResult {
  readonly removed: string[];
  readonly kept: string[];
}

/**
 * Removes files in the data directory that the catalog does not name (old versions, interrupted downloads).
 * Directories and hidden entries are left alone: a volume's `lost+found` or an operator's dotfile is not ours.
 */
export async function removeUnexpectedFiles(dataDir: string, expected: ReadonlySet<string>): Promise<CleanResult> {
  const entries = await readdir(dataDir, { withFileTypes: true });
  const removed: string[] = [];
  const kept: string[] = [];
  for (const entry of entries) {
    const ours = entry.isFile() || entry.isSymbolicLink();
    if (expected.has(entry.name) || !ours || entry.name.startsWith('.')) {
      kept.push(entry.name);
      continue;
    }
    await rm(join(dataDir, entry.name), { force: true });
    removed.push(entry.name);
  }
  return { removed, kept };
}
