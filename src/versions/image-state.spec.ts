import { describe, expect, it } from '@jest/globals';
import { notReadyReason, retryAfterSeconds, type FailedImageState, type ImageState } from './image-state.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const FAILED: FailedImageState = {
  status: 'failed',
  reason: 'connect ECONNREFUSED 127.0.0.1:9',
  attempts: 3,
  retryAt: new Date(NOW + 41_200),
};

describe('notReadyReason', () => {
  it.each<[ImageState, FailedImageState | undefined, string]>([
    [{ status: 'pending' }, undefined, 'it is waiting for its turn to be fetched'],
    [{ status: 'downloading', bytesDone: 420, bytesTotal: 1000 }, undefined, 'it is downloading (42 %)'],
    [
      { status: 'downloading', bytesDone: 3 * 1024 * 1024, bytesTotal: undefined },
      undefined,
      'it is downloading (3.0 MiB so far)',
    ],
    [{ status: 'verifying' }, undefined, 'it is being verified'],
    [
      { status: 'preparing', step: 'building the minimal ISO template' },
      undefined,
      'it is being prepared (building the minimal ISO template)',
    ],
    [FAILED, FAILED, 'attempt 3 failed: connect ECONNREFUSED 127.0.0.1:9; it is retried in 42 s'],
    [{ status: 'verifying' }, FAILED, 'it is being verified, after attempt 3 failed: connect ECONNREFUSED 127.0.0.1:9'],
  ])('%j → %s', (state, lastFailure, expected) => {
    expect(notReadyReason(state, lastFailure, NOW)).toBe(expected);
  });
});

describe('retryAfterSeconds', () => {
  it("is the time to a failed image's next attempt, at least 1 s", () => {
    expect(retryAfterSeconds(FAILED, NOW)).toBe(42);
    expect(retryAfterSeconds(FAILED, NOW + 60_000)).toBe(1);
  });

  it('is a fixed pause for an image on its way', () => {
    expect(retryAfterSeconds({ status: 'downloading', bytesDone: 1, bytesTotal: 2 }, NOW)).toBe(30);
  });
});
