import type { IncomingMessage } from 'node:http';
import type { IgnitionSizeMeter } from '../iso/index.js';
import { UpstreamBudgetExceededError } from './assisted.errors.js';

/** The byte budget shared by every assisted-service body being read at once: a burst of large answers is refused. */
export class UpstreamBodyBudget {
  private used = 0;

  constructor(readonly limitBytes: number) {}

  get inUse(): number {
    return this.used;
  }

  open(what: string) {
    let held = 0;
    return {
      /** Reserves `bytes` more, or throws UpstreamBudgetExceededError having reserved nothing. */
      grow: (bytes: number): void => {
        if (this.used + bytes > this.limitBytes) throw new UpstreamBudgetExceededError(what, this.limitBytes);
        this.used += bytes;
        held += bytes;
      },
      /** Gives every reserved byte back; idempotent. */
      release: (): void => {
        this.used -= held;
        held = 0;
      },
    };
  }
}

export type BodyReservation = ReturnType<UpstreamBodyBudget['open']>;

/** How a body that cannot be used fails its call. */
export interface Refusal {
  /** Given the size Content-Length declared, if any. */
  readonly tooLarge: (declaredSize: number | undefined) => Error;
  /** Refuses an Ignition once no payload of it can fit, whatever its byte count. */
  readonly meter?: IgnitionSizeMeter;
}

/**
 * Reads at most `maxBytes`, each byte reserved first: a longer body is refused, or cut short with no `refusal`
 * (error bodies). Refused or out of budget, the response and its connection are destroyed: the rest never comes.
 */
export async function readBody(
  response: IncomingMessage,
  maxBytes: number,
  reservation: BodyReservation,
  refusal?: Refusal,
): Promise<Buffer> {
  const declared = response.headers['content-length'];
  if (refusal !== undefined && declared !== undefined && /^\d+$/.test(declared) && +declared > maxBytes) {
    response.destroy();
    throw refusal.tooLarge(+declared);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    // Leaving this loop early (break, throw) destroys the response.
    for await (const chunk of response as AsyncIterable<Buffer>) {
      if (length + chunk.length > maxBytes && refusal !== undefined) throw refusal.tooLarge(undefined);
      const kept = chunk.subarray(0, maxBytes - length);
      reservation.grow(kept.length);
      chunks.push(kept);
      length += kept.length;
      if (refusal?.meter !== undefined) await refusal.meter.write(kept);
      if (refusal?.meter?.cannotFit) throw refusal.tooLarge(undefined);
      if (length >= maxBytes && refusal === undefined) break;
    }
    await refusal?.meter?.end();
    if (refusal?.meter?.cannotFit) throw refusal.tooLarge(undefined);
  } finally {
    refusal?.meter?.close();
  }
  return Buffer.concat(chunks, length);
}
