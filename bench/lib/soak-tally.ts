// Counts of the soak's requests per kind, and its unexpected errors grouped by kind and reason.
import type { RequestKind, Verdict } from './soak-roles.js';

export interface KindCounts {
  /** Requests that ended, whatever the ending. */
  done: number;
  ok: number;
  /** Deliberate mid-stream aborts by the client: expected. */
  aborted: number;
  /** Still running when the run ended and stopped by the client: expected. */
  cut: number;
  unexpected: number;
  bytes: number;
}

/** `service` for an error outside any request, such as the service exiting. */
export type ErrorSource = RequestKind | 'service';

export interface ErrorGroup {
  readonly kind: ErrorSource;
  readonly reason: string;
  count: number;
  /** The first occurrence's particulars, and when it happened (seconds into the load). */
  readonly firstDetail: string;
  readonly firstAtS: number;
}

export class SoakTally {
  readonly kinds = new Map<RequestKind, KindCounts>();
  /** Durations of the requests that ended ok, per kind, in ms. */
  readonly okDurations = new Map<RequestKind, number[]>();
  readonly errors = new Map<string, ErrorGroup>();
  private readonly startedAt = performance.now();

  add(verdict: Verdict): void {
    const counts = this.kinds.get(verdict.kind) ?? { done: 0, ok: 0, aborted: 0, cut: 0, unexpected: 0, bytes: 0 };
    this.kinds.set(verdict.kind, counts);
    counts.done += 1;
    counts[verdict.result] += 1;
    counts.bytes += verdict.bytes;
    if (verdict.result === 'ok') this.durationsOf(verdict.kind).push(verdict.ms);
    if (verdict.result === 'unexpected') this.addError(verdict.kind, verdict.reason ?? 'unknown', verdict.detail ?? '');
  }

  addError(kind: ErrorSource, reason: string, detail: string): void {
    const key = `${kind}\u0000${reason}`;
    const group = this.errors.get(key);
    if (group !== undefined) group.count += 1;
    else
      this.errors.set(key, {
        kind,
        reason,
        count: 1,
        firstDetail: detail,
        firstAtS: (performance.now() - this.startedAt) / 1000,
      });
  }

  private durationsOf(kind: RequestKind): number[] {
    let durations = this.okDurations.get(kind);
    if (durations === undefined) {
      durations = [];
      this.okDurations.set(kind, durations);
    }
    return durations;
  }

  totals(): KindCounts {
    const sum: KindCounts = { done: 0, ok: 0, aborted: 0, cut: 0, unexpected: 0, bytes: 0 };
    for (const counts of this.kinds.values()) {
      for (const key of Object.keys(sum) as (keyof KindCounts)[]) sum[key] += counts[key];
    }
    return sum;
  }

  unexpectedCount(): number {
    return [...this.errors.values()].reduce((sum, group) => sum + group.count, 0);
  }
}
