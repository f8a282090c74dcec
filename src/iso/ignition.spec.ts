import { describe, it, expect } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { IgnitionAreaError, IgnitionSizeMeter, IgnitionTooLargeError, buildIgnitionPayload } from './ignition.js';
import { ignitionPatches, resolveIgnitionArea } from './ignition.js';
import type { IsoFile, IsoIndex } from './iso9660.js';

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

describe('buildIgnitionPayload', () => {
  it('pads with zero bytes only after the gzip stream', async () => {
    for (let extra = 0; extra < 8; extra++) {
      const payload = await buildIgnitionPayload(Buffer.from('x'.repeat(extra)));
      expect(payload.length % 4).toBe(0);
      expect(payload.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    }
  });

  it('is reproducible for the same input', async () => {
    const config = Buffer.from('{"ignition":{}}');
    expect((await buildIgnitionPayload(config)).equals(await buildIgnitionPayload(config))).toBe(true);
  });

  it('builds a payload that fits within maxBytes exactly as without the bound', async () => {
    const config = Buffer.from(`{"ignition":{"version":"3.2.0"},"data":"${'a'.repeat(4 * 1024 * 1024)}"}`);
    const unbounded = await buildIgnitionPayload(config);
    expect(unbounded.length).toBeLessThan(256 * 1024);
    expect((await buildIgnitionPayload(config, 256 * 1024)).equals(unbounded)).toBe(true);
    expect((await buildIgnitionPayload(config, unbounded.length)).equals(unbounded)).toBe(true);
  });

  it('stops compressing once the output passes maxBytes, and says "more than"', async () => {
    const config = Buffer.from(randomBytes(400 * 1024).toString('base64'));
    const error = await buildIgnitionPayload(config, 256 * 1024).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(IgnitionTooLargeError);
    expect((error as IgnitionTooLargeError).payloadSize).toBeUndefined();
    expect((error as Error).message).toBe(
      "Ignition payload is more than 262144 bytes, larger than the ISO's 262144-byte Ignition area",
    );
  });
});

describe('IgnitionSizeMeter', () => {
  async function meter(
    config: Buffer,
    maxBytes: number,
    chunk = 64 * 1024,
  ): Promise<{ cannotFit: boolean; writtenWhenItGaveUp: number }> {
    const sizeMeter = new IgnitionSizeMeter(maxBytes);
    try {
      for (let at = 0; at < config.length; at += chunk) {
        await sizeMeter.write(config.subarray(at, at + chunk));
        if (sizeMeter.cannotFit) return { cannotFit: true, writtenWhenItGaveUp: Math.min(config.length, at + chunk) };
      }
      await sizeMeter.end();
      return { cannotFit: sizeMeter.cannotFit, writtenWhenItGaveUp: config.length };
    } finally {
      sizeMeter.close();
    }
  }

  it('gives up on an incompressible Ignition long before its end', async () => {
    const config = Buffer.from(randomBytes(6 * 1024 * 1024).toString('base64'));
    const result = await meter(config, 256 * 1024);
    expect(result.cannotFit).toBe(true);
    // About 256 KiB of output come from ~350 KiB of base64; deflate's buffering adds at most a block or two.
    expect(result.writtenWhenItGaveUp).toBeLessThan(1024 * 1024);
  });

  it('lets a large, compressible Ignition through, and its payload then fits', async () => {
    const config = Buffer.from(`{"ignition":{"version":"3.2.0"},"data":"${'ab'.repeat(3 * 1024 * 1024)}"}`);
    expect((await meter(config, 256 * 1024)).cannotFit).toBe(false);
    expect((await buildIgnitionPayload(config, 256 * 1024)).length).toBeLessThan(256 * 1024);
  });

  it('agrees with the payload around the bound: what it lets through either fits or is refused by the payload build', async () => {
    const config = Buffer.from(randomBytes(150 * 1024).toString('base64'));
    const payload = await buildIgnitionPayload(config);
    for (const maxBytes of [payload.length - 4096, payload.length - 8, payload.length, payload.length + 2048]) {
      const { cannotFit } = await meter(config, maxBytes);
      const built = await buildIgnitionPayload(config, maxBytes).then(
        () => 'fits',
        () => 'too large',
      );
      if (cannotFit) expect(built).toBe('too large');
      if (maxBytes >= payload.length) expect(cannotFit).toBe(false);
    }
  });
});
