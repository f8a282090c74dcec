/**
 * Kernel-argument embedding: rewrite each karg area as `<default> <extra…><end><pad…>`, same
 * length, so the boot menus pass the extra arguments and every other byte of the ISO stays put.
 */
import type { Patch } from './virtual-file.js';
import type { KargsArea } from './kargs-areas.js';
import { assertValidKernelArgument } from './kargs-arguments.js';

export { parseKernelArguments, assertValidKernelArgument, InvalidKernelArgumentsError } from './kargs-arguments.js';
export {
  resolveKargsAreas,
  parseKargsJson,
  KargsAreaError,
  KARGS_JSON_PATH,
  DEFAULT_KARGS_FILES,
  KARG_EMBED_MARKER,
  type KargsArea,
  type KargsInfo,
  type KargsFileInfo,
} from './kargs-areas.js';

/** The extra arguments (plus the line end) need more bytes than a karg area has. */
export class KargsTooLongError extends Error {
  override readonly name = 'KargsTooLongError';

  constructor(
    readonly path: string,
    readonly available: number,
    readonly needed: number,
  ) {
    super(`kernel arguments need ${needed} bytes but the embed area in '${path}' has ${available}`);
  }
}

/** Extra arguments were given but the ISO has no karg embed area to put them in. */
export class KargsUnsupportedError extends Error {
  override readonly name = 'KargsUnsupportedError';
}

/**
 * One patch per area writing `extra` after the default arguments. An area found by the marker
 * has no default (it starts at the kernel line's newline), so it gets ` <extra>\n###…`.
 * No extra arguments → no patches.
 */
export function kargsPatches(areas: KargsArea[], extra: string[]): Patch[] {
  if (extra.length === 0) return [];
  extra.forEach(assertValidKernelArgument);
  if (areas.length === 0) {
    throw new KargsUnsupportedError(
      'this ISO has no kernel-argument embed area, so extra kernel arguments cannot be added',
    );
  }
  const joined = extra.join(' ');
  return areas.map((area) => ({ offset: area.offset, data: areaContent(area, joined) }));
}

function areaContent(area: KargsArea, joinedExtra: string): Buffer {
  const text = Buffer.from(`${area.defaultKargs} ${joinedExtra}${area.end}`, 'utf8');
  if (text.length > area.size) {
    throw new KargsTooLongError(area.path, area.size, text.length);
  }
  const data = Buffer.alloc(area.size, area.pad, 'utf8');
  text.copy(data);
  return data;
}
