import { describe, it, expect } from '@jest/globals';
import { buildInitrdAddrsize, InitrdAddrsizeError } from './live-iso.js';

// The ISO's initrd.addrsize: load address 0x02000000, then the original initrd's size.
const ORIGINAL = Buffer.from([0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x05, 0x9a, 0x1b, 0x2c]);

describe('buildInitrdAddrsize', () => {
  it.each([
    [0, [0, 0, 0, 0, 0, 0, 0, 0]],
    [0x0102_0304, [0, 0, 0, 0, 0x01, 0x02, 0x03, 0x04]],
    [2 ** 32, [0, 0, 0, 0x01, 0, 0, 0, 0]],
    [2 ** 32 + 0x0506, [0, 0, 0, 0x01, 0, 0, 0x05, 0x06]],
    [Number.MAX_SAFE_INTEGER, [0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
  ])('keeps the address and writes length %d big-endian', (length, lengthBytes) => {
    const result = buildInitrdAddrsize(ORIGINAL, length);
    expect([...result]).toEqual([0, 0, 0, 0, 0x02, 0, 0, 0, ...lengthBytes]);
  });

  it('uses only the first 8 bytes of a longer original', () => {
    const longer = Buffer.concat([ORIGINAL, Buffer.alloc(16, 0xff)]);
    expect(buildInitrdAddrsize(longer, 1).length).toBe(16);
  });

  it('accepts an 8-byte original', () => {
    expect([...buildInitrdAddrsize(ORIGINAL.subarray(0, 8), 258)]).toEqual([
      0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2,
    ]);
  });

  it.each([
    ['a short original', Buffer.alloc(7), 1],
    ['a negative length', ORIGINAL, -1],
    ['a fractional length', ORIGINAL, 1.5],
    ['an unsafe length', ORIGINAL, 2 ** 53],
  ])('refuses %s', (_name, original, length) => {
    expect(() => buildInitrdAddrsize(original, length)).toThrow(InitrdAddrsizeError);
  });
});
