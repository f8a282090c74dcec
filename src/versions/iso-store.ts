import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { StorageConfig } from '../config/app-config.js';
import type { OsImageEntry } from '../config/catalog.js';
import { IsoFormatError, readIsoIndex, type CpuArchitecture, type IsoIndex } from '../iso/index.js';
import * as names from './cache-files.js';
import { ImageFetcher, describeUrl, sha256OfFile } from './image-fetcher.js';
import type { ImageState } from './image-state.js';
import type { CatalogImage } from './os-image-catalog.js';
import type { VerifiedImage } from './preparation-steps.js';

type OnState = (state: ImageState) => void;

/** The base ISOs in DATA_DIR (see "The cache" in README.md): a download is renamed into place only once verified. */
@Injectable()
export class IsoStore {
  private readonly logger = new Logger(IsoStore.name);

  constructor(
    private readonly storage: StorageConfig,
    private readonly fetcher: ImageFetcher,
    private readonly clock: Clock,
  ) {}

  /** Makes DATA_DIR and removes the cache's own files `keep` does not name; a wrong DATA_DIR costs nobody theirs. */
  async clean(keep: ReadonlySet<string>): Promise<void> {
    const dir = this.storage.dataDir;
    try {
      await mkdir(dir, { recursive: true });
      const foreign: string[] = [];
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (!(entry.isFile() || entry.isSymbolicLink()) || names.cacheFileKind(entry.name) === undefined) {
          // A volume's lost+found is the file system's own: listing it on every start would only be noise.
          if (entry.name !== 'lost+found') foreign.push(entry.isDirectory() ? `${entry.name}/` : entry.name);
        } else if (!keep.has(entry.name)) {
          await rm(join(dir, entry.name), { force: true });
          const why = 'a cache file no longer needed (another version, or left by an interrupted write)';
          this.logger.log(`removed ${entry.name} from ${dir}: ${why}`);
        }
      }
      if (foreign.length > 0)
        this.logger.warn(
          `left ${foreign.length} entries in ${dir} that the cache did not write (they are never deleted; is DATA_DIR right?): ${foreign.sort().join(', ')}`,
        );
    } catch (error) {
      this.logger.error(`cannot prepare ${dir}: ${(error as Error).message}`);
    }
  }

  async obtain(image: CatalogImage, signal: AbortSignal, onState: OnState): Promise<VerifiedImage> {
    onState({ status: 'verifying' });
    return (await this.reuse(image, signal)) ?? (await this.download(image, signal, onState));
  }

  /** The cached ISO if it may be served; otherwise it is removed. */
  private async reuse(image: CatalogImage, signal: AbortSignal): Promise<VerifiedImage | undefined> {
    const { iso: path, verifiedRecord: recordPath } = names.isoCacheNames(image.fileName, this.storage.dataDir);
    const stats = await stat(path).catch(() => undefined);
    if (stats === undefined) return undefined;
    const record = await names.readVerifiedRecord(recordPath);
    const check = checkAgainstCatalog(record, image.entry);
    try {
      if (check.action === 'download') throw new Error(check.why);
      if (record !== undefined && record.size !== stats.size)
        throw new Error(`its size changed since it was verified (${record.size} → ${stats.size} bytes)`);
      const index = await validateBaseImage(path, image.entry.cpuArchitecture);
      const sha256 = check.action === 'hash' ? check.sha256 : record?.sha256;
      if (check.action === 'hash') {
        this.logger.log(`re-verifying cached ${image.fileName} by its sha256: ${check.why}`);
        const actual = await sha256OfFile(path, signal);
        if (actual !== sha256)
          throw new Error(`sha256 mismatch: the catalog gives ${sha256}, the cached file has ${actual}`);
      }
      if (record?.url !== image.entry.url || record.sha256 !== sha256)
        await names.writeRecord(recordPath, this.verifiedRecord(stats.size, image.entry.url, sha256));
      const why = check.action === 'hash' ? 'its sha256 matches the catalog' : check.why;
      this.logger.log(`using cached ${image.fileName}: ${why}`);
      return { image, path, sizeBytes: stats.size, mtime: stats.mtime, index };
    } catch (error) {
      if (signal.aborted) throw error;
      const source = describeUrl(image.entry.url);
      this.logger.warn(
        `cached ${image.fileName} is unusable (${(error as Error).message}); fetching it again from ${source}`,
      );
      await Promise.all([rm(path, { force: true }), rm(recordPath, { force: true })]);
      return undefined;
    }
  }

  private async download(image: CatalogImage, signal: AbortSignal, onState: OnState): Promise<VerifiedImage> {
    const { fileName: name, entry } = image;
    const { iso: path, partial, partialRecord, verifiedRecord } = names.isoCacheNames(name, this.storage.dataDir);
    const onProgress = (bytesDone: number, bytesTotal: number | undefined): void =>
      onState({ status: 'downloading', bytesDone, bytesTotal });
    onProgress(0, undefined);
    try {
      const { url, sha256: expectedSha256 } = entry;
      const request = { name, url, partial, partialRecord, expectedSha256, signal, onProgress };
      const fetched = await this.fetcher.fetch(request);
      onState({ status: 'verifying' });
      const index = await validateBaseImage(partial, entry.cpuArchitecture);
      await names.writeRecord(verifiedRecord, this.verifiedRecord(fetched.bytes, url, fetched.sha256));
      await rename(partial, path);
      await rm(partialRecord, { force: true });
      return { image, path, sizeBytes: fetched.bytes, mtime: (await stat(path)).mtime, index };
    } catch (error) {
      // A download stopped by shutdown stays on disk for the next start to resume; a failed one is removed.
      if (!signal.aborted)
        await Promise.all([rm(partial, { force: true }), rm(partialRecord, { force: true })]).catch(() => undefined);
      throw error;
    }
  }

  private verifiedRecord(size: number, url: string, sha256: string | undefined): names.VerifiedRecord {
    return { size, verifiedAt: new Date(this.clock.now()).toISOString(), url, ...(sha256 !== undefined && { sha256 }) };
  }
}

/** Whether to `reuse` a cached ISO, `hash` it to compare with the catalog sha256, or `download` it again. */
export function checkAgainstCatalog(
  record: names.VerifiedRecord | undefined,
  { url, sha256 }: OsImageEntry,
): { action: 'reuse' | 'download'; why: string } | { action: 'hash'; sha256: string; why: string } {
  const recordedUrl = record?.url;
  const urlChanged = recordedUrl !== undefined && recordedUrl !== url;
  const changed = `the catalog URL changed${urlChanged ? ` (was ${describeUrl(recordedUrl)}, now ${describeUrl(url)})` : ''}`;
  if (sha256 === undefined) {
    if (urlChanged)
      return { action: 'download', why: `${changed} and no sha256 is given to check the cached file against` };
    if (recordedUrl === undefined)
      return { action: 'reuse', why: 'its source was not recorded by the run that verified it; checked as before' };
    return { action: 'reuse', why: 'verified against the same catalog URL' };
  }
  if (urlChanged) return { action: 'hash', sha256, why: changed };
  if (record?.sha256 === sha256) return { action: 'reuse', why: 'verified against the same catalog URL and sha256' };
  const why =
    record?.sha256 === undefined ? 'it was not verified against the catalog sha256' : 'the catalog sha256 changed';
  return { action: 'hash', sha256, why };
}

const VOLUME_ID_PREFIXES = ['rhcos-', 'rhel-coreos-', 'fedora-coreos-', 'scos-'];
const ROOTFS_PATH = 'images/pxeboot/rootfs.img';

/** The checks of a CoreOS live ISO listed in docs/live-iso.md; the index is kept for the preparation steps. */
async function validateBaseImage(path: string, arch: CpuArchitecture): Promise<IsoIndex> {
  const index = await readIsoIndex(path);
  if (!VOLUME_ID_PREFIXES.some((prefix) => index.volumeId.startsWith(prefix)))
    throw new IsoFormatError(
      `volume ID "${index.volumeId}" is not a CoreOS live ISO (expected ${VOLUME_ID_PREFIXES.join(', ')}…)`,
    );
  const { size } = await stat(path);
  const volumeBytes = index.volumeSpaceSize * index.blockSize;
  if (size < volumeBytes)
    throw new IsoFormatError(`file is truncated: ${size} bytes, the ISO volume needs ${volumeBytes}`);
  if (index.get(ROOTFS_PATH) === undefined) throw new IsoFormatError(`${ROOTFS_PATH} is missing`);
  const kernels = ['images/pxeboot/vmlinuz', ...(arch === 's390x' ? ['images/pxeboot/kernel.img'] : [])];
  if (!kernels.some((kernel) => index.get(kernel) !== undefined))
    throw new IsoFormatError(`no kernel: ${kernels.join(' or ')} is missing`);
  return index;
}
