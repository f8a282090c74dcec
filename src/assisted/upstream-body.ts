import type { IncomingMessage } from 'node:http';
import type { IgnitionSizeMeter } from '../iso/index.js';
import { UpstreamBudgetExceededError } from './assisted.errors.js';

export interface BodyReservation {
  /** Reserves `bytes` more, or throws UpstreamBudgetExceededError having reserved nothing. */
  grow(bytes: number): void;
  /** Gives every reserved byte back; idempotent. */
  release(): void;
}

/**
 * One byte budget for every assisted-service body being read at once. Each body is bounded by what can fit where it
 * goes, but a download makes up to three calls and hundreds run at once: a burst of large answers must not take the
 * memory of the whole process.
 */
export class UpstreamBodyBudget {
  private used = 0;

  constructor(readonly limitBytes: number) {}

  get inUse(): number {
    return this.used;
  }

  open(what: string): BodyReservation {
    let held = 0;
    return {
      grow: (bytes) => {
        if (this.used + bytes > this.limitBytes) throw new UpstreamBudgetExceededError(what, this.limitBytes);
        this.used += bytes;
        held += bytes;
      },
      release: () => {
        this.used -= held;
        held = 0;
      },
    };
  }
}

/**
 * `refuse`: a body larger than `maxBytes`, or one the meter finds cannot fit, fails the call with `tooLarge` (given
 * the size Content-Length declared, if any). `truncate`: only the first `maxBytes` are kept (error bodies).
 */
export type BodyBound =
  | { readonly maxBytes: number; readonly overflow: 'truncate' }
  | {
      readonly maxBytes: number;
      readonly overflow: 'refuse';
      readonly tooLarge: (declaredSize: number | undefined) => Error;
      readonly meter?: IgnitionSizeMeter;
    };

/**
 * Reads a body within `bound`, reserving every byte first. Reading stops, and the response (so its connection) is
 * destroyed, as soon as the body passes the bound, the meter gives up or the budget has no room: the rest of an
 * unusable body is never transferred.
 */
export async function readBody(
  response: IncomingMessage,
  bound: BodyBound,
  reservation: BodyReservation,
): Promise<Buffer> {
  const refusal = bound.overflow === 'refuse' ? bound : undefined;
  const declared = response.headers['content-length'];
  if (refusal !== undefined && declared !== undefined && /^\d+$/.test(declared) && +declared > bound.maxBytes) {
    response.destroy();
    throw refusal.tooLarge(+declared);
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
      if (refusal?.meter !== undefined) await refusal.meter.write(kept);
      if (refusal?.meter?.cannotFit) throw refusal.tooLarge(undefined);
      if (length >= bound.maxBytes && refusal === undefined) break;
    }
    await refusal?.meter?.end();
    if (refusal?.meter?.cannotFit) throw refusal.tooLarge(undefined);
  } finally {
    refusal?.meter?.close();
  }
  return Buffer.concat(chunks, length);
}
