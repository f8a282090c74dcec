import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { VerifiedRecord } from './cache-records.js';
import { describeUrl } from './describe-url.js';
import type { OsImageEntry } from './os-image.js';

/**
 * What to do with a cached ISO whose catalog entry may have changed since it was verified:
 * - `reuse`: same URL and no new sha256 (or a URL unknown because the record predates it, and no sha256 to check);
 * - `hash`: a sha256 is given and the record does not vouch for it under this URL: hash the file and compare;
 * - `download`: the URL changed and no sha256 says whether the cached file is what the new URL serves.
 * `why` is fit for logs: URLs are described without user-info or query string.
 */
export type CatalogCheck =
  | { readonly action: 'reuse'; readonly why: string }
  | { readonly action: 'hash'; readonly sha256: string; readonly why: string }
  | { readonly action: 'download'; readonly why: string };

export function checkAgainstCatalog(record: VerifiedRecord | undefined, entry: OsImageEntry): CatalogCheck {
  const recordedUrl = record?.url;
  const urlChanged = recordedUrl !== undefined && recordedUrl !== entry.url;
  const fromUrl = urlChanged ? ` (was ${describeUrl(recordedUrl)}, now ${describeUrl(entry.url)})` : '';
  if (entry.sha256 === undefined) {
    if (urlChanged)
      return {
        action: 'download',
        why: `the catalog URL changed${fromUrl} and no sha256 is given to check the cached file against`,
      };
    return {
      action: 'reuse',
      why:
        recordedUrl === undefined
          ? 'its source was not recorded by the run that verified it; checked as before'
          : 'verified against the same catalog URL',
    };
  }
  if (urlChanged) return { action: 'hash', sha256: entry.sha256, why: `the catalog URL changed${fromUrl}` };
  if (record?.sha256 !== entry.sha256) {
    const why =
      record?.sha256 === undefined ? 'it was not verified against the catalog sha256' : 'the catalog sha256 changed';
    return { action: 'hash', sha256: entry.sha256, why };
  }
  return { action: 'reuse', why: 'verified against the same catalog URL and sha256' };
}

/** Streams the file through SHA-256 in 1 MiB reads: memory stays flat whatever the ISO size. */
export async function sha256OfFile(path: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, signal }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}
