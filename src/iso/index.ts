/**
 * The ISO library's public entry: everything outside src/iso imports from here, never from the files behind it.
 */
export { contentRangeHeader, parseRangeHeader, unsatisfiedContentRangeHeader } from './byte-range.js';
export type { ByteRange } from './byte-range.js';
export { buildNewcArchive } from './cpio.js';
export type { CpioEntry } from './cpio.js';
export { KargsNotSupportedError, RamdiskAreaError, customizationPatches } from './customized-iso.js';
export { IgnitionTooLargeError, STANDARD_IGNITION_AREA_BYTES } from './ignition-area.js';
export { IgnitionSizeMeter, buildIgnitionPayload, buildNmstateRamdisk } from './ignition-payload.js';
export { IsoFormatError, readIsoFileBytes, readIsoIndex } from './iso9660.js';
export type { IsoIndex } from './iso9660.js';
export type { IsoFile } from './iso9660-types.js';
export { KargsTooLongError } from './kargs.js';
export { InvalidKernelArgumentsError, parseKernelArguments } from './kargs-arguments.js';
export { analyzeLiveIso } from './live-iso-layout.js';
export type { LiveIsoFiles, LiveIsoLayout } from './live-iso-layout.js';
export { buildMinimalTemplate } from './minimal-template.js';
export type { MinimalTemplateArch } from './minimal-template.js';
export { RAMDISK_AREA_SIZE } from './minimal-template-plan.js';
export { extractNmstatectl } from './nmstate-extract.js';
export { buildInitrdAddrsize } from './s390x-addrsize.js';
export type { SegmentStream } from './segment-stream.js';
export { pumpSegments } from './segment-stream-pump.js';
export type { PumpProgress } from './segment-stream-pump.js';
export { VirtualFile } from './virtual-file.js';
export type { Segment } from './virtual-file.js';
