import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { recordTemporaryName } from './cache-file-names.js';

/**
 * Small JSON files kept next to a cached ISO so a restart can tell what it finds on disk:
 * - `<iso>.part.json`: the source, validator and length of the `<iso>.part` download in progress, so a run that
 *   was killed can resume it with a Range request;
 * - `<iso>.verified.json`: the size the ISO had when it passed verification and the catalog `url` and `sha256` it
 *   was verified against, so a file that changed since, or a catalog entry that changed since, is noticed.
 */
export interface PartialRecord {
  readonly url: string;
  readonly validator: string;
  readonly total: number;
}

export interface VerifiedRecord {
  readonly size: number;
  readonly verifiedAt: string;
  /** Absent in records written before the URL was recorded: the source is then unknown, not changed. */
  readonly url?: string;
  /** The sha256 the file's content was checked against; absent when none was checked. */
  readonly sha256?: string;
}

export async function readPartialRecord(path: string): Promise<PartialRecord | undefined> {
  const value = await readJson(path);
  return isObject(value) && typeof value.url === 'string' && typeof value.validator === 'string' && isSize(value.total)
    ? { url: value.url, validator: value.validator, total: value.total }
    : undefined;
}

export async function readVerifiedRecord(path: string): Promise<VerifiedRecord | undefined> {
  const value = await readJson(path);
  if (!isObject(value) || !isSize(value.size) || typeof value.verifiedAt !== 'string') return undefined;
  return {
    size: value.size,
    verifiedAt: value.verifiedAt,
    ...(typeof value.url === 'string' && { url: value.url }),
    ...(typeof value.sha256 === 'string' && { sha256: value.sha256 }),
  };
}

/** Written to a temporary name and renamed, so a crash never leaves half a record. */
export async function writeRecord(path: string, record: PartialRecord | VerifiedRecord): Promise<void> {
  const temporary = join(dirname(path), recordTemporaryName(basename(path)));
  try {
    await writeFile(temporary, `${JSON.stringify(record)}\n`);
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
