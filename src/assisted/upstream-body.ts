import type { IncomingMessage } from 'node:http';
import type { BodyReservation } from './upstream-budget.js';

/** Sees a body as it arrives and can tell that it cannot be used, before all of it was read. */
export interface BodyMeter {
  /** Resolves once `chunk` is accounted for; the next chunk is not read before. */
  write(chunk: Buffer): Promise<void>;
  /** Called after the last chunk. */
  end(): Promise<void>;
  readonly cannotFit: boolean;
  close(): void;
}

/**
 * How much of a body is read. `refuse`: a body larger than `maxBytes` fails the call with `tooLarge` (given the
 * size the response declared in Content-Length, if it did), and so does one the meter gives up on. `truncate`: only
 * the first `maxBytes` are kept (error bodies, of which only the reason is used).
 */
export type BodyBound =
  | { readonly maxBytes: number; readonly overflow: 'truncate' }
  | {
      readonly maxBytes: number;
      readonly overflow: 'refuse';
      readonly tooLarge: (declaredSize: number | undefined) => Error;
      readonly meter?: BodyMeter;
    };

/**
 * Reads a response body within `bound`, reserving every byte in the budget first. Reading stops (and the response,
 * so its connection, is destroyed) as soon as the body passes the bound, the meter gives up on it or the budget has
 * no room: the rest of an unusable body is never transferred. The caller releases the reservation.
 */
export async function readBody(
  response: IncomingMessage,
  bound: BodyBound,
  reservation: BodyReservation,
): Promise<Buffer> {
  const refusal = bound.overflow === 'refuse' ? bound : undefined;
  const declared = declaredLength(response);
  if (refusal !== undefined && declared !== undefined && declared > bound.maxBytes) {
    response.destroy();
    throw refusal.tooLarge(declared);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    // Leaving this loop early (break, throw) destroys the response.
    for await (const chunk of response as AsyncIterable<Buffer>) {
      const room = bound.maxBytes - length;
      if (chunk.length > room && refusal !== undefined) throw refusal.tooLarge(undefined);
      const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
      reservation.grow(kept.length);
      chunks.push(kept);
      length += kept.length;
      if (refusal?.meter !== undefined) {
        await refusal.meter.write(kept);
        if (refusal.meter.cannotFit) throw refusal.tooLarge(undefined);
      }
      if (length >= bound.maxBytes && refusal === undefined) break;
    }
    if (refusal?.meter !== undefined) {
      await refusal.meter.end();
      if (refusal.meter.cannotFit) throw refusal.tooLarge(undefined);
    }
  } finally {
    refusal?.meter?.close();
  }
  return Buffer.concat(chunks, length);
}

function declaredLength(response: IncomingMessage): number | undefined {
  const value = response.headers['content-length'];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}
