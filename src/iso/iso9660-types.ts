/** The image is not ISO 9660, is truncated or corrupt, or lacks something the caller required. */
export class IsoFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IsoFormatError';
  }
}

/** One contiguous run of file data. */
export interface IsoExtent {
  /** Byte offset from the start of the image. */
  offset: number;
  /** Byte length. */
  size: number;
}

export interface IsoFile {
  /** Normalised, no leading slash, e.g. 'images/pxeboot/rootfs.img'; '' for the root directory. */
  path: string;
  /** Byte offset of the first extent's data in the image. */
  offset: number;
  /** Total byte size (sum of extents). */
  size: number;
  /** Usually one; several for multi-extent files. */
  extents: IsoExtent[];
  isDirectory: boolean;
  mtime: Date;
  /** Full st_mode from Rock Ridge PX (file type bits included) when present. */
  mode?: number;
}

export interface IsoIndex {
  readonly volumeId: string;
  readonly blockSize: number;
  /** In logical blocks. */
  readonly volumeSpaceSize: number;
  get(path: string): IsoFile | undefined;
  /** Throws IsoFormatError naming the path when it is missing. */
  require(path: string): IsoFile;
  /** Every entry (files and directories, not the root), in directory order, parents first. */
  files(): IsoFile[];
}
