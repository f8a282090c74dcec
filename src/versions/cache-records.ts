import { randomUUID } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';

/**
 * Small JSON files kept next to a cached ISO so a restart can tell what it finds on disk:
 * - `<iso>.part.json`: the source, validator and length of the `<iso>.part` download in progress, so a run that
 *   was killed can resume it with a Range request;
 * - `<iso>.verified.json`: the size the ISO had when it passed verification, so a file that changed since is
 *   fetched again rather than served.
 */
export interface PartialRecord {
  readonly url: string;
  readonly validator: string;
  readonly total: number;
}

export interface VerifiedRecord {
  readonly size: number;
  readonly verifiedAt: string;
}

export const partialName = (fileName: string): string => `${fileName}.part`;
export const partialRecordName = (fileName: string): string => `${fileName}.part.json`;
export const verifiedRecordName = (fileName: string): string => `${fileName}.verified.json`;

/** Every name the cache keeps for one image: protected from the start-up cleanup. */
export function cacheFileNames(fileName: string): string[] {
  return [fileName, partialName(fileName), partialRecordName(fileName), verifiedRecordName(fileName)];
}

export async function readPartialRecord(path: string): Promise<PartialRecord | undefined> {
  const value = await readJson(path);
  return isObject(value) && typeof value.url === 'string' && typeof value.validator === 'string' && isSize(value.total)
    ? { url: value.url, validator: value.validator, total: value.total }
    : undefined;
}

export async function readVerifiedRecord(path: string): Promise<VerifiedRecord | undefined> {
  const value = await readJson(path);
  return isObject(value) && isSize(value.size) && typeof value.verifiedAt === 'string' ? { size: value.size, verifiedAt: value.verifiedAt } : undefined;
}

/** Written to a temporary name and renamed, so a crash never leaves half a record. */
export async function writeRecord(path: string, record: PartialRecord | VerifiedRecord): Promise<void> {
  const temporary = `${path}.${randomUUID()}.tmp`;
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
