/** An ISO 9660 directory tree with Rock Ridge; bounded, so that a hostile image cannot make us loop or allocate. */
import { IsoFormatError, IsoImageReader, directoryRecords, readPrimaryVolume } from './iso9660.js';
import type { DirectoryRecord, IsoExtent, IsoFile, IsoIndex } from './iso9660.js';

const LIMITS = { depth: 128, entries: 1_000_000, directoryBytes: 64 << 20, totalDirectoryBytes: 256 << 20 };
const SUSP_LIMITS = { continuationsPerRecord: 32, continuationBytes: 64 * 1024, pathLength: 4096 };
const FLAG_DIRECTORY = 0x02;
const FLAG_ASSOCIATED = 0x04;
const FLAG_MULTI_EXTENT = 0x80;
const CURRENT_DIRECTORY = '\0';
const PARENT_DIRECTORY = '\x01';

/** Records of one file: one, or several consecutive ones for a multi-extent file. */
type RecordGroup = { first: DirectoryRecord; extents: IsoExtent[] };
/** The Rock Ridge facts of a record: CL names the block a directory was relocated to, RE marks the relocated one. */
type RockRidge = { name?: string; mode?: number; childLinkLba?: number; relocated: boolean };

/** Reads the volume descriptors and the whole directory tree; the image is closed on return. */
export async function readIsoIndex(isoPath: string): Promise<IsoIndex> {
  return IsoImageReader.use(isoPath, async (reader) => {
    const { root: rootRecord, ...volume } = await readPrimaryVolume(reader);
    // A download cut short still has intact descriptors; the recorded volume size exposes it.
    const volumeBytes = volume.volumeSpaceSize * volume.blockSize;
    const sizes = `the volume is ${volumeBytes} bytes but the file has only ${reader.fileSize} bytes`;
    if (volumeBytes > reader.fileSize) throw new IsoFormatError(`truncated ISO image: ${sizes}`);
    const walker = new TreeWalker(reader, volume.blockSize);
    const root = await walker.walk(rootRecord);
    // Without Rock Ridge, names are upper-case ISO names shown lowercased: lookups match either case.
    const normal = (path: string): string => path.split('/').filter(Boolean).join('/');
    const key = (path: string): string => (walker.suspSkip === undefined ? normal(path).toLowerCase() : normal(path));
    // Entry paths are keys already: lowercase without Rock Ridge, and never with empty segments.
    const get = (path: string): IsoFile | undefined => (key(path) === '' ? root : walker.files.get(key(path)));
    const require = (path: string): IsoFile => {
      const file = get(path);
      if (file === undefined) throw new IsoFormatError(`ISO image ${volume.volumeId} has no ${normal(path) || '/'}`);
      return file;
    };
    return { ...volume, get, require, files: () => [...walker.files.values()] };
  });
}

class TreeWalker {
  /** Every entry but the root by path, parents before children. */
  readonly files = new Map<string, IsoFile>();
  private readonly visitedDirectories = new Set<number>();
  /** Bytes to skip at the start of each System Use area (SP entry); undefined without SUSP, hence no Rock Ridge. */
  suspSkip?: number;
  private directoryBytesRead = 0;

  constructor(
    private readonly reader: IsoImageReader,
    private readonly blockSize: number,
  ) {}

  async walk(rootRecord: DirectoryRecord): Promise<IsoFile> {
    const rootExtent = this.extentOf(rootRecord, '/ (root)');
    const rootData = await this.readDirectory(rootExtent, '');
    const dot = this.dotRecord(rootData, 'root directory');
    const sp = dot.systemUse;
    const isSp = sp.length >= 7 && sp.toString('latin1', 0, 2) === 'SP' && sp[2] === 7 && sp[4] === 0xbe;
    this.suspSkip = isSp && sp[5] === 0xef ? (sp[6] ?? 0) : undefined;
    const root = toIsoFile('', dot, [rootExtent], true, (await this.readRockRidge(dot)).mode);
    await this.walkDirectory(rootData, '', 0);
    return root;
  }

  private dotRecord(data: Buffer, what: string): DirectoryRecord {
    const dot = directoryRecords(data).next().value;
    if (dot === undefined || dot.identifier !== CURRENT_DIRECTORY)
      throw new IsoFormatError(`${what} does not start with a "." record`);
    return dot;
  }

  private async walkDirectory(data: Buffer, parentPath: string, depth: number): Promise<void> {
    if (depth > LIMITS.depth)
      throw new IsoFormatError(`directory tree is deeper than ${LIMITS.depth} levels at /${parentPath}`);
    let pending: RecordGroup | undefined;
    for (const record of directoryRecords(data)) {
      if (record.identifier === CURRENT_DIRECTORY || record.identifier === PARENT_DIRECTORY) continue;
      if ((record.flags & FLAG_ASSOCIATED) !== 0) continue;
      if (pending !== undefined && pending.first.identifier !== record.identifier)
        throw new IsoFormatError(`multi-extent file ${pending.first.identifier} in /${parentPath} is not continued`);
      const group = pending ?? { first: record, extents: [] };
      group.extents.push(this.extentOf(record, `${parentPath}/${record.identifier}`));
      pending = (record.flags & FLAG_MULTI_EXTENT) !== 0 ? group : undefined;
      if (pending === undefined) await this.addEntry(group, parentPath, depth);
    }
    if (pending !== undefined)
      throw new IsoFormatError(`multi-extent file ${pending.first.identifier} in /${parentPath} has no final extent`);
  }

  private async addEntry({ first: record, extents }: RecordGroup, parentPath: string, depth: number): Promise<void> {
    const rr = await this.readRockRidge(record);
    if (rr.relocated) return; // Reached through its CL placeholder instead.
    // Without Rock Ridge: the ISO name without its ";1" version and a trailing ".", lowercased.
    const name = rr.name ?? record.identifier.replace(/;\d*$/, '').replace(/\.$/, '').toLowerCase();
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0'))
      throw new IsoFormatError(`invalid file name ${JSON.stringify(name)} in directory /${parentPath}`);
    const path = parentPath === '' ? name : `${parentPath}/${name}`;
    if (path.length > SUSP_LIMITS.pathLength) throw new IsoFormatError(`path too long: /${path.slice(0, 200)}…`);
    if (this.files.has(path)) return; // Older versions ("FILE;1" vs "FILE;2") of a name: keep the first.
    if (this.files.size >= LIMITS.entries)
      throw new IsoFormatError(`ISO image has more than ${LIMITS.entries} entries`);
    const file =
      rr.childLinkLba === undefined
        ? toIsoFile(path, record, extents, (record.flags & FLAG_DIRECTORY) !== 0, rr.mode)
        : await this.relocatedDirectory(rr.childLinkLba, path);
    this.files.set(path, file);
    const [extent] = file.extents;
    if (file.isDirectory && extent) await this.walkDirectory(await this.readDirectory(extent, path), path, depth + 1);
  }

  /** CL: the placeholder names the directory; its extent and attributes are those of the target's ".". */
  private async relocatedDirectory(lba: number, path: string): Promise<IsoFile> {
    // A "." record is at most 255 bytes, so the first logical block holds it.
    const what = `relocated directory /${path}`;
    const dot = this.dotRecord(await this.reader.read(lba * this.blockSize, this.blockSize, what), what);
    return toIsoFile(path, dot, [this.extentOf(dot, path)], true, (await this.readRockRidge(dot)).mode);
  }

  private extentOf(record: DirectoryRecord, path: string): IsoExtent {
    if (record.interleaved) throw new IsoFormatError(`interleaved file ${path} is not supported`);
    const extent = { offset: record.lba * this.blockSize, size: record.size };
    if (extent.size > 0) this.reader.assertInside(extent.offset, extent.size, `data of ${path}`);
    return extent;
  }

  private async readDirectory(extent: IsoExtent, path: string): Promise<Buffer> {
    if (this.visitedDirectories.has(extent.offset))
      throw new IsoFormatError(`directory cycle: /${path} points back to a directory already read`);
    this.visitedDirectories.add(extent.offset);
    if (extent.size > LIMITS.directoryBytes)
      throw new IsoFormatError(`directory /${path} is implausibly large (${extent.size} bytes)`);
    this.directoryBytesRead += extent.size;
    if (this.directoryBytesRead > LIMITS.totalDirectoryBytes)
      throw new IsoFormatError(`directories total more than ${LIMITS.totalDirectoryBytes} bytes`);
    return this.reader.read(extent.offset, extent.size, `directory /${path}`);
  }

  /** The record's Rock Ridge entries (NM, PX, CL, RE), following CE continuation areas. */
  private async readRockRidge(record: DirectoryRecord): Promise<RockRidge> {
    const result: RockRidge = { relocated: false };
    if (this.suspSkip === undefined) return result;
    const name: Buffer[] = [];
    let nameComplete = false;
    let area = record.systemUse.subarray(this.suspSkip);
    for (let hops = 0; ; hops++) {
      let continuation: { lba: number; offset: number; length: number } | undefined;
      for (const { signature, bytes } of suspEntries(area)) {
        const field = (minimum: number, at: number): number => entryOf(signature, bytes, minimum).readUInt32LE(at);
        if (signature === 'PX') result.mode = field(12, 4);
        else if (signature === 'CL') result.childLinkLba = field(12, 4);
        else if (signature === 'RE') result.relocated = true;
        else if (signature === 'CE') continuation = { lba: field(28, 4), offset: field(28, 12), length: field(28, 20) };
        else if (signature === 'NM') {
          const flags = entryOf(signature, bytes, 5)[4] ?? 0;
          // NM of "." / ".." (flags 2, 4) carries no name; a name already complete ignores stray NM entries.
          if ((flags & 0x06) !== 0 || nameComplete) continue;
          name.push(bytes.subarray(5));
          nameComplete = (flags & 0x01) === 0;
        }
      }
      if (continuation === undefined) break;
      if (hops >= SUSP_LIMITS.continuationsPerRecord)
        throw new IsoFormatError(`too many System Use continuation areas for ${record.identifier}`);
      if (continuation.length > SUSP_LIMITS.continuationBytes)
        throw new IsoFormatError(`System Use continuation area of ${continuation.length} bytes is implausibly large`);
      const offset = continuation.lba * this.blockSize + continuation.offset;
      area = await this.reader.read(offset, continuation.length, 'System Use continuation area');
    }
    if (name.length > 0) result.name = Buffer.concat(name).toString('utf8');
    return result;
  }
}

function toIsoFile(path: string, record: DirectoryRecord, extents: IsoExtent[], isDirectory: boolean, mode?: number) {
  const size = extents.reduce((sum, extent) => sum + extent.size, 0);
  const file: IsoFile = { path, offset: extents[0]?.offset ?? 0, size, extents, isDirectory, mtime: record.recordedAt };
  return mode === undefined ? file : { ...file, mode };
}

/** Splits a System Use area into entries; stops at padding (a zero byte), an ST terminator or a too-short tail. */
function suspEntries(area: Buffer): { signature: string; bytes: Buffer }[] {
  const entries: { signature: string; bytes: Buffer }[] = [];
  for (let position = 0; position + 4 <= area.length;) {
    const length = area[position + 2] ?? 0;
    if (length === 0 || area[position] === 0) break;
    const signature = area.toString('latin1', position, position + 2);
    if (length < 4 || position + length > area.length)
      throw new IsoFormatError(`malformed System Use entry "${signature}" (length ${length})`);
    if (signature === 'ST') break;
    entries.push({ signature, bytes: area.subarray(position, position + length) });
    position += length;
  }
  return entries;
}

function entryOf(signature: string, bytes: Buffer, minimum: number): Buffer {
  if (bytes.length >= minimum) return bytes;
  throw new IsoFormatError(`System Use entry "${signature}" is too short (${bytes.length} bytes)`);
}
