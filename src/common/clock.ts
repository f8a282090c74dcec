import { Injectable } from '@nestjs/common';

/** The time, as a provider: services that schedule or expire things take it injected, so tests can move it. */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }
}
