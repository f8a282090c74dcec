import { describe, expect, it } from '@jest/globals';
import { planDownloadResponse, type DownloadResource } from './download-response.js';

const MODIFIED = new Date('2026-03-01T10:20:30.400Z');
const resource: DownloadResource = { size: 1000, filename: 'x-discovery.iso', lastModified: MODIFIED };

describe('planDownloadResponse', () => {
  it('answers 200 with the length, disposition, ranges and last-modified headers', () => {
    expect(planDownloadResponse(resource, { method: 'GET' })).toEqual({
      status: 200,
      headers: {
        'Accept-Ranges': 'bytes',
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': 'attachment; filename=x-discovery.iso',
        'Last-Modified': 'Sun, 01 Mar 2026 10:20:30 GMT',
        'Content-Length': '1000',
      },
    });
  });

  it.each([
    ['bytes=0-99', 0, 99, 'bytes 0-99/1000'],
    ['bytes=900-', 900, 999, 'bytes 900-999/1000'],
    ['bytes=-10', 990, 999, 'bytes 990-999/1000'],
    ['bytes=990-5000', 990, 999, 'bytes 990-999/1000'],
  ])('answers 206 for %s', (range, start, end, contentRange) => {
    const plan = planDownloadResponse(resource, { method: 'GET', range });
    expect(plan).toMatchObject({ status: 206, range: { start, end } });
    expect(plan.headers['Content-Range']).toBe(contentRange);
    expect(plan.headers['Content-Length']).toBe(String(end - start + 1));
  });

  it('answers 416 with bytes */size for a range past the end', () => {
    const plan = planDownloadResponse(resource, { method: 'GET', range: 'bytes=1000-' });
    expect(plan.status).toBe(416);
    expect(plan.headers['Content-Range']).toBe('bytes */1000');
    expect(plan.status === 416 && plan.message).toMatch(/cannot be satisfied: the file is 1000 bytes/);
  });

  it('answers 304 when not modified since, compared in whole seconds, before looking at Range', () => {
    expect(
      planDownloadResponse(resource, {
        method: 'GET',
        ifModifiedSince: 'Sun, 01 Mar 2026 10:20:30 GMT',
        range: 'bytes=0-1',
      }).status,
    ).toBe(304);
    expect(
      planDownloadResponse(resource, { method: 'GET', ifModifiedSince: 'Sun, 01 Mar 2026 11:00:00 GMT' }).status,
    ).toBe(304);
    expect(
      planDownloadResponse(resource, { method: 'GET', ifModifiedSince: 'Sun, 01 Mar 2026 10:20:29 GMT' }).status,
    ).toBe(200);
    expect(planDownloadResponse(resource, { method: 'GET', ifModifiedSince: 'yesterday-ish' }).status).toBe(200);
  });

  it('ignores If-Modified-Since and sends no Last-Modified when the date is unknown', () => {
    const plan = planDownloadResponse(
      { size: 5, filename: 'f' },
      { method: 'GET', ifModifiedSince: 'Sun, 01 Mar 2026 10:20:30 GMT' },
    );
    expect(plan.status).toBe(200);
    expect(plan.headers['Last-Modified']).toBeUndefined();
  });
});
