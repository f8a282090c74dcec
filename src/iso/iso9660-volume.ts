// Finds the Primary Volume Descriptor in the volume descriptor set that starts at sector 16.
import {
  DESCRIPTOR_PRIMARY,
  DESCRIPTOR_TERMINATOR,
  FIRST_DESCRIPTOR_SECTOR,
  SECTOR_SIZE,
  parseDescriptorHeader,
  parsePrimaryVolume,
  type PrimaryVolume,
} from './iso9660-records.js';
import type { IsoImageReader } from './iso9660-reader.js';
import { IsoFormatError } from './iso9660-types.js';

/** Real images have a handful (primary, boot record, Joliet, terminator); this bounds a corrupt set. */
const MAX_DESCRIPTORS = 64;

function noPrimaryVolume(detail: string): IsoFormatError {
  return new IsoFormatError(`not an ISO 9660 image: no primary volume descriptor (${detail})`);
}

export async function readPrimaryVolume(reader: IsoImageReader): Promise<PrimaryVolume> {
  const firstOffset = FIRST_DESCRIPTOR_SECTOR * SECTOR_SIZE;
  if (reader.fileSize < firstOffset + SECTOR_SIZE) {
    throw noPrimaryVolume(`the file is only ${reader.fileSize} bytes`);
  }
  for (let index = 0; index < MAX_DESCRIPTORS; index++) {
    const offset = firstOffset + index * SECTOR_SIZE;
    if (offset + SECTOR_SIZE > reader.fileSize)
      throw noPrimaryVolume('the descriptor set runs past the end of the file');
    const sector = await reader.read(offset, SECTOR_SIZE, 'volume descriptor');
    const header = parseDescriptorHeader(sector);
    if (!header.isStandard) {
      throw noPrimaryVolume(`no "CD001" signature at sector ${FIRST_DESCRIPTOR_SECTOR + index}`);
    }
    if (header.type === DESCRIPTOR_PRIMARY) return parsePrimaryVolume(sector);
    if (header.type === DESCRIPTOR_TERMINATOR) throw noPrimaryVolume('the descriptor set ends without one');
  }
  throw noPrimaryVolume(`none among the first ${MAX_DESCRIPTORS} descriptors`);
}

/** A download cut short still has intact descriptors; the recorded volume size exposes it. */
export function assertVolumeFits(volume: PrimaryVolume, fileSize: number): void {
  const volumeBytes = volume.volumeSpaceSize * volume.blockSize;
  if (volumeBytes > fileSize) {
    throw new IsoFormatError(
      `truncated ISO image: the volume is ${volumeBytes} bytes but the file has only ${fileSize} bytes`,
    );
  }
}
