// Walks the directory hierarchy of an ISO 9660 volume, applying Rock Ridge names and relocations.
import {
  FLAG_ASSOCIATED,
  FLAG_DIRECTORY,
  FLAG_MULTI_EXTENT,
  directoryRecords,
  isoFallbackName,
  type DirectoryRecord,
  type PrimaryVolume,
} from './iso9660-records.js';
import type { IsoImageReader } from './iso9660-reader.js';
import { IsoFormatError, type IsoExtent, type IsoFile } from './iso9660-types.js';
import {
  RockRidgeCollector,
  parseSuspEntries,
  readSuspSkip,
  type ContinuationPointer,
  type RockRidgeAttributes,
} from './rock-ridge.js';

/** Bounds that keep a hostile image from making us loop, recurse or allocate without end. */
export interface TreeLimits {
  maxDepth: number;
  maxEntries: number;
  maxDirectoryBytes: number;
  maxTotalDirectoryBytes: number;
  maxContinuationsPerRecord: number;
  maxContinuationBytes: number;
  maxPathLength: number;
}

export const DEFAULT_TREE_LIMITS: TreeLimits = {
  maxDepth: 128,
  maxEntries: 1_000_000,
  maxDirectoryBytes: 64 * 1024 * 1024,
  maxTotalDirectoryBytes: 256 * 1024 * 1024,
  maxContinuationsPerRecord: 32,
  maxContinuationBytes: 64 * 1024,
  maxPathLength: 4096,
};

export interface IsoTree {
  root: IsoFile;
  /** Every entry except the root, parents before children. */
  entries: IsoFile[];
  /** True when the image uses SUSP (hence names come from Rock Ridge). */
  rockRidge: boolean;
}

/** Records of one file: one, or several consecutive ones for a multi-extent file. */
interface RecordGroup {
  first: DirectoryRecord;
  extents: IsoExtent[];
}

const CURRENT_DIRECTORY = '\0';

function joinPath(parentPath: string, name: string): string {
  return parentPath === '' ? name : `${parentPath}/${name}`;
}
const PARENT_DIRECTORY = '\x01';

export async function readIsoTree(
  reader: IsoImageReader,
  volume: PrimaryVolume,
  limits: TreeLimits = DEFAULT_TREE_LIMITS,
): Promise<IsoTree> {
  return new TreeWalker(reader, volume, limits).walk();
}

class TreeWalker {
  private readonly entries: IsoFile[] = [];
  private readonly paths = new Set<string>();
  private readonly visitedDirectories = new Set<number>();
  private suspSkip?: number;
  private directoryBytesRead = 0;

  constructor(
    private readonly reader: IsoImageReader,
    private readonly volume: PrimaryVolume,
    private readonly limits: TreeLimits,
  ) {}

  async walk(): Promise<IsoTree> {
    const rootRecord = this.volume.root;
    const rootExtent = this.extentOf(rootRecord, '/ (root)');
    const rootData = await this.readDirectory(rootExtent, '');
    const dot = directoryRecords(rootData).next().value;
    if (dot === undefined || dot.identifier !== CURRENT_DIRECTORY) {
      throw new IsoFormatError('root directory does not start with a "." record');
    }
    this.suspSkip = readSuspSkip(dot.systemUse);
    const rootAttributes = await this.rockRidge(dot);
    const root = this.toIsoFile('', dot, [rootExtent], rootAttributes, true);
    await this.walkDirectory(rootData, '', 0);
    return { root, entries: this.entries, rockRidge: this.suspSkip !== undefined };
  }

  private async walkDirectory(data: Buffer, parentPath: string, depth: number): Promise<void> {
    if (depth > this.limits.maxDepth) {
      throw new IsoFormatError(`directory tree is deeper than ${this.limits.maxDepth} levels at /${parentPath}`);
    }
    let pending: RecordGroup | undefined;
    for (const record of directoryRecords(data)) {
      if (record.identifier === CURRENT_DIRECTORY || record.identifier === PARENT_DIRECTORY) continue;
      if ((record.flags & FLAG_ASSOCIATED) !== 0) continue;
      if (pending !== undefined && pending.first.identifier !== record.identifier) {
        throw new IsoFormatError(`multi-extent file ${pending.first.identifier} in /${parentPath} is not continued`);
      }
      const group: RecordGroup = pending ?? { first: record, extents: [] };
      group.extents.push(this.extentOf(record, joinPath(parentPath, record.identifier)));
      pending = (record.flags & FLAG_MULTI_EXTENT) !== 0 ? group : undefined;
      if (pending === undefined) await this.addEntry(group, parentPath, depth);
    }
    if (pending !== undefined) {
      throw new IsoFormatError(`multi-extent file ${pending.first.identifier} in /${parentPath} has no final extent`);
    }
  }

  private async addEntry(group: RecordGroup, parentPath: string, depth: number): Promise<void> {
    const attributes = await this.rockRidge(group.first);
    if (attributes.relocated) return; // Reached through its CL placeholder instead.
    const name = this.checkedName(attributes.name ?? isoFallbackName(group.first.identifier), parentPath);
    const path = joinPath(parentPath, name);
    if (path.length > this.limits.maxPathLength) throw new IsoFormatError(`path too long: /${path.slice(0, 200)}…`);
    if (this.paths.has(path)) return; // Older versions ("FILE;1" vs "FILE;2") of a name: keep the first.
    if (this.entries.length >= this.limits.maxEntries) {
      throw new IsoFormatError(`ISO image has more than ${this.limits.maxEntries} entries`);
    }
    if (attributes.childLinkLba !== undefined) {
      await this.addRelocatedDirectory(attributes.childLinkLba, path, attributes, depth);
      return;
    }
    const isDirectory = (group.first.flags & FLAG_DIRECTORY) !== 0;
    this.push(this.toIsoFile(path, group.first, group.extents, attributes, isDirectory));
    if (isDirectory) {
      const data = await this.readDirectory(group.extents[0] ?? { offset: 0, size: 0 }, path);
      await this.walkDirectory(data, path, depth + 1);
    }
  }

  /** CL: the placeholder names the directory; its extent and attributes are those of the target's ".". */
  private async addRelocatedDirectory(
    lba: number,
    path: string,
    placeholder: RockRidgeAttributes,
    depth: number,
  ): Promise<void> {
    const offset = lba * this.volume.blockSize;
    // A "." record is at most 255 bytes, so the first logical block holds it.
    const firstBlock = await this.reader.read(offset, this.volume.blockSize, `relocated directory /${path}`);
    const dot = directoryRecords(firstBlock).next().value;
    if (dot === undefined || dot.identifier !== CURRENT_DIRECTORY) {
      throw new IsoFormatError(`relocated directory /${path} does not start with a "." record`);
    }
    const extent = this.extentOf(dot, path);
    const attributes = { ...(await this.rockRidge(dot)), name: placeholder.name };
    this.push(this.toIsoFile(path, dot, [extent], attributes, true));
    await this.walkDirectory(await this.readDirectory(extent, path), path, depth + 1);
  }

  private push(file: IsoFile): void {
    this.paths.add(file.path);
    this.entries.push(file);
  }

  private checkedName(name: string, parentPath: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      throw new IsoFormatError(`invalid file name ${JSON.stringify(name)} in directory /${parentPath}`);
    }
    return name;
  }

  private extentOf(record: DirectoryRecord, path: string): IsoExtent {
    if (record.fileUnitSize !== 0 || record.interleaveGap !== 0) {
      throw new IsoFormatError(`interleaved file ${path} is not supported`);
    }
    const extent = {
      offset: (record.extentLba + record.extAttrLength) * this.volume.blockSize,
      size: record.dataLength,
    };
    if (extent.size > 0) this.reader.assertInside(extent.offset, extent.size, `data of ${path}`);
    return extent;
  }

  private async readDirectory(extent: IsoExtent, path: string): Promise<Buffer> {
    if (this.visitedDirectories.has(extent.offset)) {
      throw new IsoFormatError(`directory cycle: /${path} points back to a directory already read`);
    }
    this.visitedDirectories.add(extent.offset);
    if (extent.size > this.limits.maxDirectoryBytes) {
      throw new IsoFormatError(`directory /${path} is implausibly large (${extent.size} bytes)`);
    }
    this.directoryBytesRead += extent.size;
    if (this.directoryBytesRead > this.limits.maxTotalDirectoryBytes) {
      throw new IsoFormatError(`directories total more than ${this.limits.maxTotalDirectoryBytes} bytes`);
    }
    return this.reader.read(extent.offset, extent.size, `directory /${path}`);
  }

  private async rockRidge(record: DirectoryRecord): Promise<RockRidgeAttributes> {
    const collector = new RockRidgeCollector();
    if (this.suspSkip === undefined) return collector.result();
    let continuation = collector.add(parseSuspEntries(record.systemUse.subarray(this.suspSkip)));
    for (let hops = 0; continuation !== undefined; hops++) {
      if (hops >= this.limits.maxContinuationsPerRecord) {
        throw new IsoFormatError(`too many System Use continuation areas for ${record.identifier}`);
      }
      continuation = collector.add(parseSuspEntries(await this.readContinuation(continuation)));
    }
    return collector.result();
  }

  private readContinuation(pointer: ContinuationPointer): Promise<Buffer> {
    if (pointer.length > this.limits.maxContinuationBytes) {
      throw new IsoFormatError(`System Use continuation area of ${pointer.length} bytes is implausibly large`);
    }
    const offset = pointer.lba * this.volume.blockSize + pointer.offset;
    return this.reader.read(offset, pointer.length, 'System Use continuation area');
  }

  private toIsoFile(
    path: string,
    record: DirectoryRecord,
    extents: IsoExtent[],
    attributes: RockRidgeAttributes,
    isDirectory: boolean,
  ): IsoFile {
    const first = extents[0] ?? { offset: 0, size: 0 };
    const size = extents.reduce((sum, extent) => sum + extent.size, 0);
    const file: IsoFile = { path, offset: first.offset, size, extents, isDirectory, mtime: record.recordedAt };
    if (attributes.mode !== undefined) file.mode = attributes.mode;
    return file;
  }
}
