import { Injectable } from '@nestjs/common';

/** The time, as a provider: services that schedule or expire things take it injected, so tests can move it. */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }

  /** Calls `callback` once after `delayMs`; the returned function cancels it. */
  schedule(callback: () => void, delayMs: number): () => void {
    const timer = setTimeout(callback, delayMs);
    return () => clearTimeout(timer);
  }
}
