import { randomUUID } from 'node:crypto';
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BASE_IMAGE_TYPES } from '../config/catalog.js';
import { CPU_ARCHITECTURES, type CpuArchitecture } from '../iso/index.js';

/*
 * Every name the cache writes in DATA_DIR is made and recognised here, so that the start-up cleanup can never miss a
 * name the cache produces, nor take a name it does not produce for one of its own:
 * - `rhcos-<type>-<version>-<arch>.iso`: a base ISO, or a minimal ISO template (`type` `minimal-iso`);
 * - `<iso>.part` and `<iso>.part.json`: a download in progress and its resume record;
 * - `<iso>.verified.json`: what a cached ISO was verified against;
 * - `nmstate-<version>-<arch>.img`: the packed nmstatectl of an image;
 * - temporary names, renamed into place once complete: `.<template>.<uuid>.tmp` (hidden, so no reader takes it
 *   for a template), `<record>.<uuid>.tmp` and `<nmstate image>.<uuid>.part`.
 */
const ARCH = `(?:${CPU_ARCHITECTURES.join('|')})`;
const ISO = `rhcos-(?:${[...BASE_IMAGE_TYPES, 'minimal-iso'].join('|')})-[^/]+-${ARCH}\\.iso`;
const NMSTATE = `nmstate-[^/]+-${ARCH}\\.img`;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

const KINDS = [
  ['iso', ISO],
  ['partial', `${ISO}\\.part`],
  ['partial-record', `${ISO}\\.part\\.json`],
  ['verified-record', `${ISO}\\.verified\\.json`],
  ['nmstate', NMSTATE],
  ['temporary', `\\.${ISO}\\.${UUID}\\.tmp`],
  ['temporary', `${ISO}\\.(?:part|verified)\\.json\\.${UUID}\\.tmp`],
  ['temporary', `${NMSTATE}\\.${UUID}\\.part`],
].map(([kind, pattern]) => [kind, new RegExp(`^${pattern}$`)] as const);

/** What a name in DATA_DIR is to the cache; undefined for a name the cache never produces. */
export function cacheFileKind(name: string): string | undefined {
  return KINDS.find(([, pattern]) => pattern.test(name))?.[0];
}

export const partialName = (iso: string): string => `${iso}.part`;
export const partialRecordName = (iso: string): string => `${iso}.part.json`;
export const verifiedRecordName = (iso: string): string => `${iso}.verified.json`;
export const nmstateImageName = (version: string, arch: CpuArchitecture): string => `nmstate-${version}-${arch}.img`;
export const templateTemporaryName = (template: string): string => `.${template}.${randomUUID()}.tmp`;
export const recordTemporaryName = (record: string): string => `${record}.${randomUUID()}.tmp`;
export const nmstateTemporaryName = (nmstate: string): string => `${nmstate}.${randomUUID()}.part`;

/** The names one cached ISO may have next to it, all of them worth keeping while the catalog names the ISO. */
export function isoCacheNames(iso: string): string[] {
  return [iso, partialName(iso), partialRecordName(iso), verifiedRecordName(iso)];
}

/**
 * Removes from the data directory the files named as above that are not in `keep` (temporary names never are:
 * nothing is being written while this runs). Anything else is someone else's, not the cache's: a wrong DATA_DIR
 * must not cost anybody their files; those are listed in `foreign` (a directory with a trailing `/`).
 */
export async function cleanDataDir(
  dataDir: string,
  keep: ReadonlySet<string>,
): Promise<{ removed: string[]; foreign: string[] }> {
  const removed: string[] = [];
  const foreign: string[] = [];
  for (const entry of await readdir(dataDir, { withFileTypes: true })) {
    if (!(entry.isFile() || entry.isSymbolicLink()) || cacheFileKind(entry.name) === undefined) {
      // A volume's lost+found is the file system's own: listing it on every start would only be noise.
      if (entry.name !== 'lost+found') foreign.push(entry.isDirectory() ? `${entry.name}/` : entry.name);
    } else if (!keep.has(entry.name)) {
      await rm(join(dataDir, entry.name), { force: true });
      removed.push(entry.name);
    }
  }
  return { removed, foreign: foreign.sort() };
}

/** `<iso>.part.json`: where the `<iso>.part` download came from, so a run that was killed can resume it. */
interface PartialRecord {
  readonly url: string;
  readonly validator: string;
  readonly total: number;
}

/** `<iso>.verified.json`: a cached ISO's size and catalog entry when it passed verification. */
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
  return typeof value.url === 'string' && typeof value.validator === 'string' && isSize(value.total)
    ? { url: value.url, validator: value.validator, total: value.total }
    : undefined;
}

export async function readVerifiedRecord(path: string): Promise<VerifiedRecord | undefined> {
  const value = await readJson(path);
  if (!isSize(value.size) || typeof value.verifiedAt !== 'string') return undefined;
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

/** The file's JSON object, or an empty one when it is missing or is not a JSON object. */
async function readJson(path: string): Promise<Record<string, unknown>> {
  try {
    const value: unknown = JSON.parse(await readFile(path, 'utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
