/**
 * s390x `initrd.addrsize`: the load address of the initrd (8 bytes, kept from the ISO's copy)
 * and its size (8 bytes, big-endian). The size must be the customised initrd's, or the s390x
 * loader would cut off the appended Ignition payload.
 */

const ADDRESS_BYTES = 8;

export class InitrdAddrsizeError extends Error {
  override readonly name = 'InitrdAddrsizeError';
}

export function buildInitrdAddrsize(original: Buffer, initrdLength: number): Buffer {
  if (original.length < ADDRESS_BYTES) {
    throw new InitrdAddrsizeError(
      `initrd.addrsize from the ISO has ${original.length} bytes; at least ${ADDRESS_BYTES} are needed`,
    );
  }
  if (!Number.isSafeInteger(initrdLength) || initrdLength < 0) {
    throw new InitrdAddrsizeError(`initrd length must be a non-negative safe integer, got ${initrdLength}`);
  }
  const result = Buffer.alloc(ADDRESS_BYTES * 2);
  original.copy(result, 0, 0, ADDRESS_BYTES);
  result.writeBigUInt64BE(BigInt(initrdLength), ADDRESS_BYTES);
  return result;
}
