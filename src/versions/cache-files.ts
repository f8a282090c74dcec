import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BASE_IMAGE_TYPES, type BaseImageType, type OsImageEntry } from '../config/catalog.js';
import { CPU_ARCHITECTURES, writeAtomically, type CpuArchitecture } from '../iso/index.js';

// Every name the cache writes in DATA_DIR is made and recognised here, so the start-up cleanup can neither miss one of
// its own names nor take someone else's file for one (see "The cache" in README.md).
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

/** A base ISO, or (`minimal-iso`) the minimal ISO template built from a full ISO. */
export function cacheFileName(type: BaseImageType | 'minimal-iso', version: string, arch: CpuArchitecture): string {
  return `rhcos-${type}-${version}-${arch}.iso`;
}

export function nmstateImageName(entry: Pick<OsImageEntry, 'version' | 'cpuArchitecture'>): string {
  return `nmstate-${entry.version}-${entry.cpuArchitecture}.img`;
}
// Temporary names, renamed into place once complete; the template's is hidden so no reader takes it for a template.
export const templateTemporaryName = (template: string): string => `.${template}.${randomUUID()}.tmp`;
export const recordTemporaryName = (record: string): string => `${record}.${randomUUID()}.tmp`;
export const nmstateTemporaryName = (nmstate: string): string => `${nmstate}.${randomUUID()}.part`;

/** One cached ISO's name and those next to it (in `dir`: paths), all worth keeping while the catalog names the ISO. */
export function isoCacheNames(iso: string, dir = '') {
  const at = (suffix: string): string => join(dir, `${iso}${suffix}`);
  return { iso: at(''), partial: at('.part'), partialRecord: at('.part.json'), verifiedRecord: at('.verified.json') };
}

/** `<iso>.part.json`: where the `<iso>.part` download came from, so a later run can resume it. */
type PartialRecord = { readonly url: string; readonly validator: string; readonly total: number };

/** `<iso>.verified.json`: a cached ISO's size and catalog entry when it passed verification. */
export interface VerifiedRecord {
  readonly size: number;
  readonly verifiedAt: string;
  /** Absent in records written before the URL was recorded: the source is then unknown, not changed. */
  readonly url?: string;
  readonly sha256?: string;
}

export async function readPartialRecord(path: string): Promise<PartialRecord | undefined> {
  const { url, validator, total } = await readJson(path);
  if (typeof url !== 'string' || typeof validator !== 'string' || !isSize(total)) return undefined;
  return { url, validator, total };
}

export async function readVerifiedRecord(path: string): Promise<VerifiedRecord | undefined> {
  const { size, verifiedAt, url, sha256 } = await readJson(path);
  if (!isSize(size) || typeof verifiedAt !== 'string') return undefined;
  return { size, verifiedAt, ...(typeof url === 'string' && { url }), ...(typeof sha256 === 'string' && { sha256 }) };
}

export async function writeRecord(path: string, record: PartialRecord | VerifiedRecord): Promise<void> {
  const text = `${JSON.stringify(record)}\n`;
  await writeAtomically(path, (temporary) => writeFile(temporary, text), recordTemporaryName(basename(path)));
}

/** The file's JSON object; an empty one when it is missing or not an object. */
export async function readJson(path: string): Promise<Record<string, unknown>> {
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
