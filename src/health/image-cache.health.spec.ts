import { describe, expect, it } from '@jest/globals';
import type { FailedImageState, ImageState } from '../versions/image-state.js';
import { describeImageReadiness, isReplicaReady, type ImageReadiness } from './health.module.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const READY: ImageState = { status: 'ready', sizeBytes: 10, mtime: new Date(NOW) };
const FAILED: FailedImageState = {
  status: 'failed',
  reason: 'HTTP 404 from http://mirror/x.iso',
  attempts: 2,
  retryAt: new Date(NOW + 4_500),
};
const DOWNLOADING: ImageState = { status: 'downloading', bytesDone: 5, bytesTotal: 10 };

function image(state: ImageState, settled: boolean, lastFailure?: FailedImageState): ImageReadiness {
  return { state, settled, lastFailure };
}

describe('isReplicaReady', () => {
  it.each<[string, ImageReadiness[], boolean]>([
    ['every image ready', [image(READY, true), image(READY, true)], true],
    ['one ready, one failed', [image(READY, true), image(FAILED, true, FAILED)], true],
    ['one ready, one retrying after a failure', [image(READY, true), image(DOWNLOADING, true, FAILED)], true],
    ['one ready, one on its first attempt', [image(READY, true), image(DOWNLOADING, false)], false],
    ['none ready, all failed', [image(FAILED, true, FAILED), image(FAILED, true, FAILED)], false],
    ['nothing settled yet', [image({ status: 'pending' }, false)], false],
  ])('%s → %s', (_name, images, ready) => {
    expect(isReplicaReady(images)).toBe(ready);
  });
});

describe('describeImageReadiness', () => {
  it('gives a failed image its reason and the seconds to its next attempt', () => {
    expect(describeImageReadiness(image(FAILED, true, FAILED), NOW)).toEqual({
      status: 'failed',
      reason: FAILED.reason,
      attempts: 2,
      retryAt: '2026-01-01T00:00:04.500Z',
      retryInSeconds: 5,
    });
  });

  it('marks an image on its first attempt, and names the failure a retry follows', () => {
    expect(describeImageReadiness(image(DOWNLOADING, false), NOW)).toMatchObject({
      status: 'downloading',
      percent: 50,
      firstAttempt: true,
    });
    expect(describeImageReadiness(image(DOWNLOADING, true, FAILED), NOW)).toMatchObject({
      lastFailure: { reason: FAILED.reason, attempts: 2 },
    });
    expect(describeImageReadiness(image(READY, true), NOW)).toEqual({ status: 'ready', sizeBytes: 10 });
  });
});
