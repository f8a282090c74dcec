/** The ISO library's public entry: everything outside src/iso imports from here, never from the files behind it. */
export { OperationAbortedError } from './child-process.js';
export { IgnitionSizeMeter, IgnitionTooLargeError, STANDARD_IGNITION_AREA_BYTES } from './initramfs.js';
export { buildIgnitionPayload, buildNewcArchive, buildNmstateRamdisk, type CpioEntry } from './initramfs.js';
export { IsoFormatError, readIsoFileBytes, type IsoFile, type IsoIndex } from './iso9660.js';
export { readIsoIndex } from './iso9660-tree.js';
export { InvalidKernelArgumentsError, KargsNotSupportedError, KargsTooLongError } from './kargs.js';
export { parseKernelArguments } from './kargs.js';
export { CPU_ARCHITECTURES, RamdiskAreaError, normalizeArchitecture, type CpuArchitecture } from './live-iso.js';
export { analyzeLiveIso, buildInitrdAddrsize, customizationPatches, type LiveIsoLayout } from './live-iso.js';
export { RAMDISK_AREA_SIZE, buildMinimalTemplate, writeAtomically } from './minimal-template.js';
export { extractNmstatectl } from './nmstate.js';
export { ChunkBufferPool, pumpSegments, type Segment } from './segment-stream.js';
export { SharedDescriptors, VirtualFile, type ByteRange } from './virtual-file.js';
