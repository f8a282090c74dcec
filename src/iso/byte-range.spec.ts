import { describe, expect, it } from '@jest/globals';
import {
  byteRangeLength,
  contentRangeHeader,
  parseRangeHeader,
  unsatisfiedContentRangeHeader,
  type RangeResult,
} from './byte-range.js';

const full: RangeResult = { kind: 'full' };
const unsatisfiable: RangeResult = { kind: 'unsatisfiable' };
const partial = (start: number, end: number): RangeResult => ({ kind: 'partial', range: { start, end } });

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

describe('Content-Range helpers', () => {
  it('formats satisfied and unsatisfied ranges', () => {
    expect(contentRangeHeader({ start: 0, end: 9 }, 100)).toBe('bytes 0-9/100');
    expect(unsatisfiedContentRangeHeader(100)).toBe('bytes */100');
    expect(byteRangeLength({ start: 5, end: 5 })).toBe(1);
    expect(byteRangeLength({ start: 0, end: 99 })).toBe(100);
  });
});
