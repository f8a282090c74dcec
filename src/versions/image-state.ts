/** Where one cached image stands. Only `ready` images are served. */
export type ImageState =
  | { readonly status: 'pending' }
  | { readonly status: 'downloading'; readonly bytesDone: number; readonly bytesTotal: number | undefined }
  | { readonly status: 'verifying' }
  | { readonly status: 'preparing'; readonly step: string }
  | { readonly status: 'ready'; readonly sizeBytes: number; readonly mtime: Date }
  | { readonly status: 'failed'; readonly reason: string; readonly attempts: number; readonly retryAt: Date };

export type FailedImageState = Extract<ImageState, { status: 'failed' }>;
export const IMAGE_STATUSES = ['pending', 'downloading', 'verifying', 'preparing', 'ready', 'failed'] as const;

/** Tuning of the cache sync, not part of the environment contract: tests shorten the timings. */
export class SyncOptions {
  readonly parallelism: number = 3;
  readonly retryBaseMs: number = 10_000;
  readonly retryMaxMs: number = 10 * 60_000;
  /** Longest silence from an image source before its download is abandoned. */
  readonly idleTimeoutMs: number = 60_000;
  readonly progressLogIntervalMs: number = 10_000;
}

/** The state as plain JSON for `/health` and logs. */
export function describeState(state: ImageState): Record<string, unknown> {
  switch (state.status) {
    case 'downloading':
      return { ...state, bytesTotal: state.bytesTotal ?? null, percent: percentOf(state) ?? null };
    case 'ready':
      return { status: state.status, sizeBytes: state.sizeBytes };
    case 'failed':
      return { ...state, retryAt: state.retryAt.toISOString() };
    default:
      return { ...state };
  }
}

/** Retry-After of an image on its way: long enough not to hammer, short enough for a small image. */
const IN_PROGRESS_RETRY_AFTER_SECONDS = 30;

/** Seconds a client should wait before asking again for an image that is not ready: a failed one's next attempt. */
export function retryAfterSeconds(state: ImageState, now: number): number {
  if (state.status !== 'failed') return IN_PROGRESS_RETRY_AFTER_SECONDS;
  return Math.max(1, Math.ceil((state.retryAt.getTime() - now) / 1000));
}

/** Why an image cannot be served yet, as a clause; a retry names the failure it follows, which is what to fix. */
export function notReadyReason(state: ImageState, lastFailure: FailedImageState | undefined, now: number): string {
  const earlier = lastFailure ? `, after attempt ${lastFailure.attempts} failed: ${lastFailure.reason}` : '';
  switch (state.status) {
    case 'pending':
      return `it is waiting for its turn to be fetched${earlier}`;
    case 'downloading': {
      const percent = percentOf(state);
      const done = percent === undefined ? `${mebibytes(state.bytesDone)} so far` : `${percent} %`;
      return `it is downloading (${done})${earlier}`;
    }
    case 'verifying':
      return `it is being verified${earlier}`;
    case 'preparing':
      return `it is being prepared (${state.step})${earlier}`;
    case 'failed':
      return `attempt ${state.attempts} failed: ${state.reason}; it is retried in ${retryAfterSeconds(state, now)} s`;
    case 'ready':
      return 'it is ready';
  }
}

function percentOf(state: { readonly bytesDone: number; readonly bytesTotal: number | undefined }): number | undefined {
  return state.bytesTotal ? Math.floor((state.bytesDone / state.bytesTotal) * 100) : undefined;
}

export function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
