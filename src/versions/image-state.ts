/** Where one cached image stands. Only `ready` images are served. */
export type ImageState =
  | { readonly status: 'pending' }
  | { readonly status: 'downloading'; readonly bytesDone: number; readonly bytesTotal: number | undefined }
  | { readonly status: 'verifying' }
  | { readonly status: 'preparing'; readonly step: string }
  | { readonly status: 'ready'; readonly sizeBytes: number; readonly mtime: Date }
  | {
      readonly status: 'failed';
      readonly reason: string;
      readonly attempts: number;
      readonly retryAt: Date | undefined;
    };

export type ImageStatus = ImageState['status'];

export type FailedImageState = Extract<ImageState, { status: 'failed' }>;

export const IMAGE_STATUSES: readonly ImageStatus[] = [
  'pending',
  'downloading',
  'verifying',
  'preparing',
  'ready',
  'failed',
];

/** Retry-After of an image that is on its way: long enough not to hammer, short enough for a small image. */
export const IN_PROGRESS_RETRY_AFTER_SECONDS = 30;

/** The state as plain JSON for `/health` and logs. */
export function describeState(state: ImageState): Record<string, unknown> {
  switch (state.status) {
    case 'downloading':
      return {
        status: state.status,
        bytesDone: state.bytesDone,
        bytesTotal: state.bytesTotal ?? null,
        percent: percentOf(state) ?? null,
      };
    case 'ready':
      return { status: state.status, sizeBytes: state.sizeBytes };
    case 'failed':
      return {
        status: state.status,
        reason: state.reason,
        attempts: state.attempts,
        retryAt: state.retryAt?.toISOString() ?? null,
      };
    case 'preparing':
      return { status: state.status, step: state.step };
    default:
      return { status: state.status };
  }
}

/** Seconds a client should wait before asking again for an image that is not ready: a failed one's next attempt. */
export function retryAfterSeconds(state: ImageState, now: number): number {
  if (state.status !== 'failed' || state.retryAt === undefined) return IN_PROGRESS_RETRY_AFTER_SECONDS;
  return Math.max(1, Math.ceil((state.retryAt.getTime() - now) / 1000));
}

/**
 * Why an image cannot be served yet, as a clause for an error message: "it is downloading (42 %)". A retry in
 * progress also names the failure it follows, which is what an operator has to fix.
 */
export function notReadyReason(state: ImageState, lastFailure: FailedImageState | undefined, now: number): string {
  const earlier =
    lastFailure === undefined ? '' : `, after attempt ${lastFailure.attempts} failed: ${lastFailure.reason}`;
  switch (state.status) {
    case 'pending':
      return `it is waiting for its turn to be fetched${earlier}`;
    case 'downloading': {
      const percent = percentOf(state);
      return `it is downloading (${percent === undefined ? `${mebibytes(state.bytesDone)} so far` : `${percent} %`})${earlier}`;
    }
    case 'verifying':
      return `it is being verified${earlier}`;
    case 'preparing':
      return `it is being prepared (${state.step})${earlier}`;
    case 'failed': {
      const next =
        state.retryAt === undefined ? 'it is not retried' : `it is retried in ${retryAfterSeconds(state, now)} s`;
      return `attempt ${state.attempts} failed: ${state.reason}; ${next}`;
    }
    case 'ready':
      return 'it is ready';
  }
}

function percentOf(state: { readonly bytesDone: number; readonly bytesTotal: number | undefined }): number | undefined {
  return state.bytesTotal ? Math.floor((state.bytesDone / state.bytesTotal) * 100) : undefined;
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
