// Pure parsers for SUSP (System Use Sharing Protocol) entries and the Rock Ridge (RRIP) entries we use.
import { IsoFormatError } from './iso9660-types.js';

const HEADER_LENGTH = 4;
const NM_CONTINUE = 0x01;
const NM_CURRENT = 0x02;
const NM_PARENT = 0x04;

/** Where a CE entry says the System Use entries continue. */
export interface ContinuationPointer {
  lba: number;
  offset: number;
  length: number;
}

export interface SuspEntry {
  signature: string;
  /** The whole entry, header included, so field offsets match the specifications. */
  bytes: Buffer;
}

/** The Rock Ridge facts of one directory record. */
export interface RockRidgeAttributes {
  name?: string;
  mode?: number;
  /** CL: this record stands for a directory relocated to this extent. */
  childLinkLba?: number;
  /** RE: this directory was relocated here and is reachable through a CL elsewhere. */
  relocated: boolean;
}

/**
 * Splits a System Use area into entries. Stops at a zero length byte (padding), at an `ST`
 * terminator, or when fewer than a header's worth of bytes remain.
 */
export function parseSuspEntries(area: Buffer): SuspEntry[] {
  const entries: SuspEntry[] = [];
  let position = 0;
  while (position + HEADER_LENGTH <= area.length) {
    const length = area[position + 2] ?? 0;
    if (length === 0 || area[position] === 0) break;
    const signature = area.toString('latin1', position, position + 2);
    if (length < HEADER_LENGTH || position + length > area.length) {
      throw new IsoFormatError(`malformed System Use entry "${signature}" (length ${length})`);
    }
    if (signature === 'ST') break;
    entries.push({ signature, bytes: area.subarray(position, position + length) });
    position += length;
  }
  return entries;
}

/**
 * Reads the SP entry that must open the root "." record's System Use area when SUSP is in use.
 * Returns the number of bytes to skip at the start of every other System Use area, or
 * undefined when the image does not use SUSP (and so has no Rock Ridge).
 */
export function readSuspSkip(rootDotSystemUse: Buffer): number | undefined {
  const sp = rootDotSystemUse;
  const isSp =
    sp.length >= 7 && sp.toString('latin1', 0, 2) === 'SP' && sp[2] === 7 && sp[4] === 0xbe && sp[5] === 0xef;
  return isSp ? (sp[6] ?? 0) : undefined;
}

function requireLength(entry: SuspEntry, minimum: number): Buffer {
  if (entry.bytes.length < minimum) {
    throw new IsoFormatError(`System Use entry "${entry.signature}" is too short (${entry.bytes.length} bytes)`);
  }
  return entry.bytes;
}

/** Accumulates the entries of one record, which may be spread over several continuation areas. */
export class RockRidgeCollector {
  private readonly nameParts: Buffer[] = [];
  private nameComplete = false;
  private mode?: number;
  private childLinkLba?: number;
  private relocated = false;

  /** Consumes one area's entries; returns the continuation pointer if that area has a CE entry. */
  add(entries: SuspEntry[]): ContinuationPointer | undefined {
    let continuation: ContinuationPointer | undefined;
    for (const entry of entries) {
      switch (entry.signature) {
        case 'NM':
          this.addName(requireLength(entry, 5));
          break;
        case 'PX':
          this.mode = requireLength(entry, 12).readUInt32LE(4);
          break;
        case 'CL':
          this.childLinkLba = requireLength(entry, 12).readUInt32LE(4);
          break;
        case 'RE':
          this.relocated = true;
          break;
        case 'CE':
          continuation = readContinuation(requireLength(entry, 28));
          break;
        default:
          break; // RR, TF, SL, PN, ER, ES, PD, SP, ZF... carry nothing we need.
      }
    }
    return continuation;
  }

  result(): RockRidgeAttributes {
    const name = this.nameParts.length > 0 ? Buffer.concat(this.nameParts).toString('utf8') : undefined;
    return { name, mode: this.mode, childLinkLba: this.childLinkLba, relocated: this.relocated };
  }

  private addName(bytes: Buffer): void {
    const flags = bytes[4] ?? 0;
    // NM for "." / ".." carries no name; a name already completed ignores stray NM entries.
    if ((flags & (NM_CURRENT | NM_PARENT)) !== 0 || this.nameComplete) return;
    this.nameParts.push(bytes.subarray(5));
    if ((flags & NM_CONTINUE) === 0) this.nameComplete = true;
  }
}

function readContinuation(bytes: Buffer): ContinuationPointer {
  return { lba: bytes.readUInt32LE(4), offset: bytes.readUInt32LE(12), length: bytes.readUInt32LE(20) };
}
