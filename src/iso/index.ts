/** The ISO library's public entry: everything outside src/iso imports from here, never from the files behind it. */
export { OperationAbortedError, runChild, type RunChild } from './child-process.js';
export { buildNewcArchive, type CpioEntry } from './cpio.js';
export { IgnitionSizeMeter, IgnitionTooLargeError, STANDARD_IGNITION_AREA_BYTES } from './ignition.js';
export { buildIgnitionPayload, buildNmstateRamdisk } from './ignition.js';
export { IsoFormatError, readIsoFileBytes, type IsoFile, type IsoIndex } from './iso9660.js';
export { readIsoIndex } from './iso9660-tree.js';
export {
  InvalidKernelArgumentsError,
  KargsNotSupportedError,
  KargsTooLongError,
  parseKernelArguments,
} from './kargs.js';
export { CPU_ARCHITECTURES, normalizeArchitecture, type CpuArchitecture } from './live-iso.js';
export { RamdiskAreaError, analyzeLiveIso, buildInitrdAddrsize, customizationPatches } from './live-iso.js';
export type { LiveIsoLayout } from './live-iso.js';
export { RAMDISK_AREA_SIZE, buildMinimalTemplate } from './minimal-template.js';
export { extractNmstatectl } from './nmstate.js';
export { pumpSegments, type Segment } from './segment-stream.js';
export { VirtualFile } from './virtual-file.js';
