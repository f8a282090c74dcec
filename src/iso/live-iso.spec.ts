import { describe, it, expect } from '@jest/globals';
import { IgnitionTooLargeError } from './initramfs.js';
import type { IsoFile, IsoIndex } from './iso9660.js';
import { IgnitionAreaError, buildInitrdAddrsize, ignitionPatches, InitrdAddrsizeError } from './live-iso.js';
import { resolveIgnitionArea } from './live-iso.js';

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

const AREA = 256 * 1024;

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** An in-memory IsoIndex: each file sits at the given absolute offset. */
function fakeIndex(files: Record<string, { offset: number; content: Buffer }>): { index: IsoIndex } {
  const entries = new Map<string, IsoFile>();
  for (const [path, { offset, content }] of Object.entries(files)) {
    const size = content.length;
    entries.set(path, { path, offset, size, extents: [{ offset, size }], isDirectory: false, mtime: new Date(0) });
  }
  const get = (path: string): IsoFile | undefined => entries.get(path.replace(/^\/+/, ''));
  const require = (path: string): IsoFile => {
    const file = get(path);
    if (file === undefined) throw new Error(`no ${path}`);
    return file;
  };
  return {
    index: {
      volumeId: 'rhcos-fake',
      blockSize: 2048,
      volumeSpaceSize: 0,
      hasJolietTree: false,
      get,
      require,
      files: () => [...entries.values()],
    },
  };
}

describe('resolveIgnitionArea errors', () => {
  const { index } = fakeIndex({ 'images/ignition.img': { offset: 40_960, content: Buffer.alloc(AREA) } });
  const bad: Array<[string, Buffer | undefined, RegExp]> = [
    ['a missing named file', json({ file: 'images/nope.img' }), /images\/nope\.img.*not in the ISO/],
    ['an offset past the end', json({ file: 'images/ignition.img', offset: AREA + 1 }), /past the end/],
    ['offset + length past the end', json({ file: 'images/ignition.img', offset: 10, length: AREA }), /outside/],
    ['a length past the end', json({ file: 'images/ignition.img', length: AREA + 1 }), /outside/],
    ['an empty area', json({ file: 'images/ignition.img', offset: AREA }), /empty/],
    ['bad JSON', Buffer.from('{"file": '), /not valid JSON/],
    ['a JSON array', json(['images/ignition.img']), /not a JSON object/],
    ['no file', json({ offset: 0 }), /no "file"/],
    ['a negative offset', json({ file: 'images/ignition.img', offset: -1 }), /"offset"/],
    ['a fractional length', json({ file: 'images/ignition.img', length: 1.5 }), /"length"/],
    ['a string offset', json({ file: 'images/ignition.img', offset: '0' }), /"offset"/],
  ];

  it.each(bad)('rejects %s', (_name, igninfo, message) => {
    expect(() => resolveIgnitionArea(index, igninfo)).toThrow(IgnitionAreaError);
    expect(() => resolveIgnitionArea(index, igninfo)).toThrow(message);
  });

  it('rejects an ISO without igninfo.json and without images/ignition.img', () => {
    expect(() => resolveIgnitionArea(fakeIndex({}).index, undefined)).toThrow(IgnitionAreaError);
  });

  it('rejects an area spanning two extents of a multi-extent file', () => {
    const { index: multi } = fakeIndex({ 'images/cdboot.img': { offset: 0, content: Buffer.alloc(8192) } });
    const file = multi.require('images/cdboot.img');
    file.extents = [
      { offset: 10_240, size: 4096 },
      { offset: 40_960, size: 4096 },
    ];
    expect(() => resolveIgnitionArea(multi, json({ file: 'images/cdboot.img', offset: 4000, length: 200 }))).toThrow(
      /spans two extents/,
    );
    expect(resolveIgnitionArea(multi, json({ file: 'images/cdboot.img', offset: 4096, length: 100 })).offset).toBe(
      40_960,
    );
    expect(resolveIgnitionArea(multi, json({ file: 'images/cdboot.img', offset: 100, length: 100 })).offset).toBe(
      10_340,
    );
  });
});

describe('ignitionPatches', () => {
  const area = { file: 'images/ignition.img', offset: 40_960, length: 1024 };

  it("writes the payload itself, then a zero-fill to the end of the area (no buffer of the area's size)", () => {
    const payload = Buffer.alloc(100, 7);
    expect(ignitionPatches(area, payload)).toEqual([
      { offset: 40_960, data: payload },
      { offset: 41_060, zeros: 924 },
    ]);
    expect((ignitionPatches(area, payload)[0] as { data: Buffer }).data).toBe(payload);
  });

  it('accepts a payload exactly the size of the area, with no zero-fill', () => {
    const payload = Buffer.alloc(1024, 1);
    expect(ignitionPatches(area, payload)).toEqual([{ offset: 40_960, data: payload }]);
  });

  it('refuses a payload larger than the area, naming both sizes', () => {
    expect(() => ignitionPatches(area, Buffer.alloc(1025))).toThrow(IgnitionTooLargeError);
    expect(() => ignitionPatches(area, Buffer.alloc(1025))).toThrow(
      /Ignition payload is 1025 bytes, larger than the ISO's 1024-byte Ignition area/,
    );
  });
});
