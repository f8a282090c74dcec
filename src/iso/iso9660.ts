// Read-only ISO 9660 (+ Rock Ridge) reader working with positioned reads on a FileHandle.
import { withIsoReader } from './iso9660-reader.js';
import { readIsoTree, type IsoTree } from './iso9660-tree.js';
import { IsoFormatError, type IsoFile, type IsoIndex } from './iso9660-types.js';
import { assertVolumeFits, readPrimaryVolume } from './iso9660-volume.js';

export { IsoFormatError } from './iso9660-types.js';
export type { IsoExtent, IsoFile, IsoIndex } from './iso9660-types.js';

export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Lookup key: no leading/trailing slash, no empty segments. */
export function normaliseIsoPath(path: string): string {
  return path
    .split('/')
    .filter((segment) => segment !== '')
    .join('/');
}

class MapIsoIndex implements IsoIndex {
  private readonly byPath = new Map<string, IsoFile>();

  constructor(
    readonly volumeId: string,
    readonly blockSize: number,
    readonly volumeSpaceSize: number,
    private readonly tree: IsoTree,
  ) {
    this.byPath.set('', tree.root);
    for (const file of tree.entries) this.byPath.set(this.key(file.path), file);
  }

  get(path: string): IsoFile | undefined {
    return this.byPath.get(this.key(normaliseIsoPath(path)));
  }

  require(path: string): IsoFile {
    const file = this.get(path);
    if (file === undefined) {
      throw new IsoFormatError(`ISO image ${this.volumeId} has no ${normaliseIsoPath(path) || '/'}`);
    }
    return file;
  }

  files(): IsoFile[] {
    return [...this.tree.entries];
  }

  // Without Rock Ridge, names are upper-case ISO names shown lowercased: match either case.
  private key(path: string): string {
    return this.tree.rockRidge ? path : path.toLowerCase();
  }
}

/** Reads the volume descriptors and the whole directory tree; the image handle is closed on return. */
export async function readIsoIndex(isoPath: string): Promise<IsoIndex> {
  return withIsoReader(isoPath, async (reader) => {
    const volume = await readPrimaryVolume(reader);
    assertVolumeFits(volume, reader.fileSize);
    const tree = await readIsoTree(reader, volume);
    return new MapIsoIndex(volume.volumeId, volume.blockSize, volume.volumeSpaceSize, tree);
  });
}

/** Reads only the volume descriptors. */
export async function readVolumeId(isoPath: string): Promise<string> {
  return withIsoReader(isoPath, async (reader) => (await readPrimaryVolume(reader)).volumeId);
}

/** Reads a small file (a config) whole; refuses directories and files larger than `maxBytes`. */
export async function readIsoFileBytes(
  isoPath: string,
  file: IsoFile,
  maxBytes: number = DEFAULT_MAX_FILE_BYTES,
): Promise<Buffer> {
  if (file.isDirectory) throw new IsoFormatError(`${file.path} is a directory, not a file`);
  if (file.size > maxBytes) {
    throw new IsoFormatError(`${file.path} is ${file.size} bytes, more than the ${maxBytes}-byte limit`);
  }
  return withIsoReader(isoPath, async (reader) => {
    const parts: Buffer[] = [];
    for (const extent of file.extents)
      parts.push(await reader.read(extent.offset, extent.size, `data of ${file.path}`));
    return Buffer.concat(parts);
  });
}
