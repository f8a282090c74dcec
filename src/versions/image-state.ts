/** Where one cached image stands. Only `ready` images are served. */
export type ImageState =
  | { readonly status: 'pending' }
  | { readonly status: 'downloading'; readonly bytesDone: number; readonly bytesTotal: number | undefined }
  | { readonly status: 'verifying' }
  | { readonly status: 'preparing'; readonly step: string }
  | { readonly status: 'ready'; readonly sizeBytes: number; readonly mtime: Date }
  | { readonly status: 'failed'; readonly reason: string; readonly attempts: number; readonly retryAt: Date | undefined };

export type ImageStatus = ImageState['status'];

export const IMAGE_STATUSES: readonly ImageStatus[] = ['pending', 'downloading', 'verifying', 'preparing', 'ready', 'failed'];

/** The state as plain JSON for `/health` and logs. */
export function describeState(state: ImageState): Record<string, unknown> {
  switch (state.status) {
    case 'downloading': {
      const percent = state.bytesTotal ? Math.floor((state.bytesDone / state.bytesTotal) * 100) : undefined;
      return { status: state.status, bytesDone: state.bytesDone, bytesTotal: state.bytesTotal ?? null, percent: percent ?? null };
    }
    case 'ready':
      return { status: state.status, sizeBytes: state.sizeBytes };
    case 'failed':
      return { status: state.status, reason: state.reason, attempts: state.attempts, retryAt: state.retryAt?.toISOString() ?? null };
    case 'preparing':
      return { status: state.status, step: state.step };
    default:
      return { status: state.status };
  }
}
