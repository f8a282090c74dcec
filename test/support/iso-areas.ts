import { KARG_EMBED_MARKER } from '../fixtures/iso-fixture.js';
import { extractWithXorriso, listWithXorriso } from '../fixtures/xorriso.js';

export interface IsoArea {
  readonly start: number;
  readonly end: number;
  readonly what: string;
}

/**
 * The areas a customisation may rewrite, located with xorriso and the fixture's own files rather than the
 * service's code: the Ignition area (images/ignition.img, or igninfo.json's range in cdboot.img on s390x) and, per
 * boot config, the span from the default kargs to the embed-area marker.
 */
export async function customizableAreas(
  isoPath: string,
  arch: string,
  configs: readonly string[],
  defaultKargs: string,
): Promise<IsoArea[]> {
  const extents = new Map((await listWithXorriso(isoPath)).map((row) => [row.path, row]));
  const offsetOf = (path: string): number => {
    const extent = extents.get(path);
    if (extent === undefined) throw new Error(`${path} is not in ${isoPath}`);
    return extent.lba * 2048;
  };
  const areas: IsoArea[] = [];
  if (arch === 's390x') {
    const info = JSON.parse((await extractWithXorriso(isoPath, 'coreos/igninfo.json')).toString()) as {
      offset: number;
      length: number;
    };
    const start = offsetOf('images/cdboot.img') + info.offset;
    areas.push({ start, end: start + info.length, what: 'ignition' });
  } else {
    const start = offsetOf('images/ignition.img');
    areas.push({ start, end: start + (extents.get('images/ignition.img')?.size ?? 0), what: 'ignition' });
  }
  for (const config of configs) {
    const text = (await extractWithXorriso(isoPath, config)).toString('latin1');
    areas.push({
      start: offsetOf(config) + text.indexOf(defaultKargs),
      end: offsetOf(config) + text.indexOf(KARG_EMBED_MARKER),
      what: config,
    });
  }
  return areas;
}
