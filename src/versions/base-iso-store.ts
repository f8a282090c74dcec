import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@nestjs/common';
import { validateBaseImage } from './base-image-validator.js';
import { partialName, partialRecordName, verifiedRecordName } from './cache-file-names.js';
import { readPartialRecord, readVerifiedRecord, writeRecord, type VerifiedRecord } from './cache-records.js';
import { checkAgainstCatalog, sha256OfFile } from './catalog-change.js';
import { describeUrl } from './describe-url.js';
import type { ImageFetcher, ResumeFrom } from './image-fetcher.js';
import type { VerifiedImage } from './image-preparation.js';
import type { CatalogImage } from './os-image-catalog.js';
import { ProgressLog } from './progress-log.js';

export type DownloadProgress = (bytesDone: number, bytesTotal: number | undefined) => void;

/**
 * The base ISOs on disk: a cached file is reused only if it still has the size it was verified with, still
 * validates and still matches its catalog entry; a download goes to `<iso>.part` and is renamed into place only
 * after verification, so no file that could be served is ever incomplete. A partial file left by a killed or
 * stopped run is resumed next time.
 */
export class BaseIsoStore {
  constructor(
    private readonly dataDir: string,
    private readonly fetcher: ImageFetcher,
    private readonly logger: Logger,
    private readonly progressLogIntervalMs: number,
  ) {}

  /**
   * The cached ISO, if it may be served: it still has the size it was verified with, still validates, and still
   * matches the catalog entry (see catalog-change.ts: a changed URL or sha256 is checked by hashing the file, or
   * the file is fetched again). Anything else removes it and answers undefined.
   */
  async reuse(image: CatalogImage, signal: AbortSignal): Promise<VerifiedImage | undefined> {
    const path = this.pathOf(image.fileName);
    const stats = await stat(path).catch(() => undefined);
    if (stats === undefined) return undefined;
    const recordPath = this.pathOf(verifiedRecordName(image.fileName));
    const record = await readVerifiedRecord(recordPath);
    const check = checkAgainstCatalog(record, image.entry);
    try {
      if (check.action === 'download') throw new Error(check.why);
      if (record !== undefined && record.size !== stats.size) {
        throw new Error(`its size changed since it was verified (${record.size} → ${stats.size} bytes)`);
      }
      const index = await validateBaseImage(path, image.entry.cpuArchitecture);
      if (check.action === 'hash') await this.compareHash(image, path, check.sha256, check.why, signal);
      const verifiedSha256 = check.action === 'hash' ? check.sha256 : record?.sha256;
      if (record?.url !== image.entry.url || record.sha256 !== verifiedSha256) {
        await writeRecord(recordPath, verifiedRecord(stats.size, image.entry.url, verifiedSha256));
      }
      this.logger.log(
        `using cached ${image.fileName}: ${check.action === 'hash' ? 'its sha256 matches the catalog' : check.why}`,
      );
      return { image, path, sizeBytes: stats.size, mtime: stats.mtime, index };
    } catch (error) {
      if (signal.aborted) throw error;
      const source = describeUrl(image.entry.url);
      this.logger.warn(
        `cached ${image.fileName} is unusable (${error instanceof Error ? error.message : String(error)}); fetching it again from ${source}`,
      );
      await Promise.all([rm(path, { force: true }), rm(recordPath, { force: true })]);
      return undefined;
    }
  }

  async download(
    image: CatalogImage,
    signal: AbortSignal,
    onProgress: DownloadProgress,
    onVerifying: () => void,
  ): Promise<VerifiedImage> {
    const { fileName, entry } = image;
    const [path, partial, partialRecord] = [
      this.pathOf(fileName),
      this.pathOf(partialName(fileName)),
      this.pathOf(partialRecordName(fileName)),
    ];
    const resumeFrom = await this.resumable(image);
    const progress = new ProgressLog(this.logger, fileName, this.progressLogIntervalMs);
    const from = resumeFrom === undefined ? '' : `, resuming at byte ${resumeFrom.bytes}`;
    this.logger.log(`downloading ${fileName} from ${describeUrl(entry.url)}${from}`);
    try {
      const result = await this.fetcher.fetch({
        url: entry.url,
        destination: partial,
        ...(entry.sha256 !== undefined && { expectedSha256: entry.sha256 }),
        ...(resumeFrom !== undefined && { resumeFrom }),
        signal,
        onProgress: (bytesDone, bytesTotal) => {
          onProgress(bytesDone, bytesTotal);
          progress.update(bytesDone, bytesTotal);
        },
        onStart: async ({ offset, total, validator }) => {
          if (offset > 0) return;
          if (validator !== undefined && total !== undefined)
            await writeRecord(partialRecord, { url: entry.url, validator, total });
          else await rm(partialRecord, { force: true });
        },
      });
      onVerifying();
      const index = await validateBaseImage(partial, entry.cpuArchitecture);
      await writeRecord(
        this.pathOf(verifiedRecordName(fileName)),
        verifiedRecord(result.bytes, entry.url, result.sha256),
      );
      await rename(partial, path);
      await rm(partialRecord, { force: true });
      const { mtime } = await stat(path);
      progress.done(result.bytes - result.resumedFrom);
      return { image, path, sizeBytes: result.bytes, mtime, index };
    } catch (error) {
      // A download stopped by shutdown stays on disk for the next start to resume; a failed one is removed.
      if (!signal.aborted)
        await Promise.all([rm(partial, { force: true }), rm(partialRecord, { force: true })]).catch(() => undefined);
      throw error;
    }
  }

  private async compareHash(
    image: CatalogImage,
    path: string,
    expected: string,
    why: string,
    signal: AbortSignal,
  ): Promise<void> {
    this.logger.log(`re-verifying cached ${image.fileName} by its sha256: ${why}`);
    const actual = await sha256OfFile(path, signal);
    if (actual !== expected)
      throw new Error(`sha256 mismatch: the catalog gives ${expected}, the cached file has ${actual}`);
  }

  /** A partial file is continued only when its record names the same URL and it is not longer than the source. */
  private async resumable(image: CatalogImage): Promise<ResumeFrom | undefined> {
    const [partial, partialRecord] = [
      this.pathOf(partialName(image.fileName)),
      this.pathOf(partialRecordName(image.fileName)),
    ];
    const [record, stats] = await Promise.all([readPartialRecord(partialRecord), stat(partial).catch(() => undefined)]);
    if (
      record !== undefined &&
      stats !== undefined &&
      record.url === image.entry.url &&
      stats.size > 0 &&
      stats.size <= record.total
    ) {
      return { bytes: stats.size, total: record.total, validator: record.validator };
    }
    await Promise.all([rm(partial, { force: true }), rm(partialRecord, { force: true })]);
    return undefined;
  }

  private pathOf(name: string): string {
    return join(this.dataDir, name);
  }
}

function verifiedRecord(size: number, url: string, sha256: string | undefined): VerifiedRecord {
  return { size, verifiedAt: new Date().toISOString(), url, ...(sha256 !== undefined && { sha256 }) };
}
