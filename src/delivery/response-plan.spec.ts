import { describe, expect, it } from '@jest/globals';
import { VirtualFile } from '../iso/index.js';
import {
  parseRangeHeader,
  planDownloadResponse as planPrepared,
  prepareHeaders,
  type Download,
  type RangeResult,
} from './response-plan.js';

type Resource = Omit<Download, 'file'> & { readonly size: number };

/** A download of `size` bytes that is never read: only its size and headers matter here. */
const downloadOf = ({ size, ...rest }: Resource): Download => ({
  file: VirtualFile.concat([{ kind: 'file', path: '/never-read', offset: 0, length: size }]),
  ...rest,
});

const planDownloadResponse = (resource: Resource, range?: string, ifModifiedSince?: string) =>
  planPrepared(prepareHeaders(downloadOf(resource)), { range, 'if-modified-since': ifModifiedSince });

const MODIFIED = new Date('2026-03-01T10:20:30.400Z');
const resource: Resource = { size: 1000, filename: 'x-discovery.iso', lastModified: MODIFIED };

const full: RangeResult = 'full';
const unsatisfiable: RangeResult = 'unsatisfiable';
const partial = (start: number, end: number): RangeResult => ({ start, end });

const cases: ReadonlyArray<readonly [string, string | undefined, number, RangeResult]> = [
  // absent / empty
  ['no header', undefined, 100, full],
  ['empty header', '', 100, full],
  // bytes=a-b
  ['first byte', 'bytes=0-0', 100, partial(0, 0)],
  ['first ten bytes', 'bytes=0-9', 100, partial(0, 9)],
  ['middle', 'bytes=10-19', 100, partial(10, 19)],
  ['last byte', 'bytes=99-99', 100, partial(99, 99)],
  ['whole file explicitly', 'bytes=0-99', 100, partial(0, 99)],
  ['end clamped to size-1', 'bytes=50-1000', 100, partial(50, 99)],
  ['leading zeros are decimal', 'bytes=010-020', 100, partial(10, 20)],
  ['end before start is invalid, ignored', 'bytes=20-10', 100, full],
  // bytes=a-
  ['open-ended', 'bytes=10-', 100, partial(10, 99)],
  ['open-ended from 0', 'bytes=0-', 100, partial(0, 99)],
  ['open-ended from last byte', 'bytes=99-', 100, partial(99, 99)],
  // start >= size
  ['start at size', 'bytes=100-', 100, unsatisfiable],
  ['start past size', 'bytes=150-200', 100, unsatisfiable],
  // suffix
  ['suffix', 'bytes=-10', 100, partial(90, 99)],
  ['suffix of one', 'bytes=-1', 100, partial(99, 99)],
  ['suffix equal to size', 'bytes=-100', 100, partial(0, 99)],
  ['suffix beyond size', 'bytes=-1000', 100, partial(0, 99)],
  ['suffix zero', 'bytes=-0', 100, unsatisfiable],
  // whitespace and case
  ['whitespace around header', '  bytes=0-9  ', 100, partial(0, 9)],
  ['whitespace inside', 'bytes = 0 - 9', 100, partial(0, 9)],
  ['tab inside', 'bytes=\t5-\t6', 100, partial(5, 6)],
  ['unit is case-insensitive', 'Bytes=0-9', 100, partial(0, 9)],
  // malformed → ignore header
  ['other unit', 'items=0-9', 100, full],
  ['no unit', '0-9', 100, full],
  ['no dash', 'bytes=5', 100, full],
  ['only a dash', 'bytes=-', 100, full],
  ['nothing after =', 'bytes=', 100, full],
  ['two dashes', 'bytes=1-2-3', 100, full],
  ['negative start', 'bytes=--5', 100, full],
  ['plus sign', 'bytes=+1-5', 100, full],
  ['plus sign in end', 'bytes=1-+5', 100, full],
  ['exponent', 'bytes=1e3-', 10_000, full],
  ['hex', 'bytes=0x10-0x20', 100, full],
  ['fraction', 'bytes=1.5-2', 100, full],
  ['letters', 'bytes=a-b', 100, full],
  ['huge start', 'bytes=9007199254740992-', 100, full],
  ['huge end', 'bytes=0-99999999999999999999', 100, full],
  ['huge suffix', 'bytes=-99999999999999999999', 100, full],
  ['largest safe integer is fine', `bytes=0-${Number.MAX_SAFE_INTEGER}`, 100, partial(0, 99)],
  // multiple ranges → ignore header
  ['two ranges', 'bytes=0-1,5-6', 100, full],
  ['two ranges with space', 'bytes=0-1, 5-6', 100, full],
  ['trailing comma', 'bytes=0-1,', 100, full],
  // empty representation
  ['size 0, a-b', 'bytes=0-0', 0, unsatisfiable],
  ['size 0, a-', 'bytes=0-', 0, unsatisfiable],
  ['size 0, suffix', 'bytes=-5', 0, unsatisfiable],
  ['size 0, no header', undefined, 0, full],
  ['size 0, malformed', 'bytes=x', 0, full],
];

describe('parseRangeHeader', () => {
  it.each(cases)('%s: %j of %d bytes', (_name, header, size, expected) => {
    expect(parseRangeHeader(header, size)).toEqual(expected);
  });

  it('rejects an invalid size', () => {
    expect(() => parseRangeHeader('bytes=0-1', -1)).toThrow(RangeError);
    expect(() => parseRangeHeader('bytes=0-1', 1.5)).toThrow(RangeError);
  });

  it('always returns a range inside the file for any a-b header', () => {
    for (let size = 1; size < 40; size += 3) {
      for (let start = 0; start < 45; start += 2) {
        for (let end = start; end < 50; end += 5) {
          const result = parseRangeHeader(`bytes=${start}-${end}`, size);
          if (start >= size) expect(result).toEqual(unsatisfiable);
          else expect(result).toEqual(partial(start, Math.min(end, size - 1)));
        }
      }
    }
  });
});

describe('planDownloadResponse', () => {
  it('answers 200 with the length, disposition, ranges and last-modified headers', () => {
    expect(planDownloadResponse(resource, undefined, undefined)).toEqual({
      status: 200,
      headers: {
        'X-Content-Type-Options': 'nosniff',
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
    const plan = planDownloadResponse(resource, range, undefined);
    expect(plan).toMatchObject({ status: 206, range: { start, end } });
    expect(plan.headers['Content-Range']).toBe(contentRange);
    expect(plan.headers['Content-Length']).toBe(String(end - start + 1));
  });

  it('answers 416 with bytes */size for a range past the end', () => {
    const plan = planDownloadResponse(resource, 'bytes=1000-', undefined);
    expect(plan.status).toBe(416);
    expect(plan.headers['Content-Range']).toBe('bytes */1000');
    expect(plan.status === 416 && plan.message).toMatch(/cannot be satisfied: the file is 1000 bytes/);
  });

  it('answers 304 when not modified since, compared in whole seconds, before looking at Range', () => {
    expect(planDownloadResponse(resource, 'bytes=0-1', 'Sun, 01 Mar 2026 10:20:30 GMT').status).toBe(304);
    expect(planDownloadResponse(resource, undefined, 'Sun, 01 Mar 2026 11:00:00 GMT').status).toBe(304);
    expect(planDownloadResponse(resource, undefined, 'Sun, 01 Mar 2026 10:20:29 GMT').status).toBe(200);
    expect(planDownloadResponse(resource, undefined, 'yesterday-ish').status).toBe(200);
  });

  it('ignores If-Modified-Since and sends no Last-Modified when the date is unknown', () => {
    const plan = planDownloadResponse({ size: 5, filename: 'f' }, undefined, 'Sun, 01 Mar 2026 10:20:30 GMT');
    expect(plan.status).toBe(200);
    expect(plan.headers['Last-Modified']).toBeUndefined();
  });
  it('answers every 200 and 304 with the headers prepared once', () => {
    const prepared = prepareHeaders(downloadOf(resource));
    expect(planPrepared(prepared, {}).headers).toBe(prepared.full);
    expect(planPrepared(prepared, { range: 'items=0-9' }).headers).toBe(prepared.full);
    expect(
      planPrepared(prepared, { range: 'bytes=5-9', 'if-modified-since': 'Sun, 01 Mar 2026 10:20:30 GMT' }).headers,
    ).toBe(prepared.common);
  });

  it('formats satisfied and unsatisfied ranges', () => {
    const resource100 = { size: 100, filename: 'f' };
    expect(planDownloadResponse(resource100, 'bytes=0-9', undefined).headers['Content-Range']).toBe('bytes 0-9/100');
    expect(planDownloadResponse(resource100, 'bytes=100-', undefined).headers['Content-Range']).toBe('bytes */100');
    expect(planDownloadResponse(resource100, 'bytes=5-5', undefined).headers['Content-Length']).toBe('1');
    expect(planDownloadResponse(resource100, 'bytes=0-99', undefined).headers['Content-Length']).toBe('100');
  });
});
