import { ServiceError } from '../common/service-error.js';

/** Bodies in flight last at most the call timeout and mostly far less; a few seconds frees room for a retry. */
const RETRY_AFTER_SECONDS = 5;

/** Reading one more response would take the bodies in flight past their budget: 503 with Retry-After. */
export class UpstreamBudgetExceededError extends ServiceError {
  override name = 'UpstreamBudgetExceededError';

  constructor(what: string, budgetBytes: number) {
    super(
      503,
      `too many large responses from assisted-service are being read at once (their ${budgetBytes}-byte memory budget is used up); ` +
        `the request for ${what} was dropped, try again shortly`,
      { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    );
  }
}

/**
 * One byte budget for every assisted-service response body being read at once. Each body is bounded by what can
 * fit where it goes, but a download makes up to three calls and hundreds of downloads run at once: the budget
 * bounds their sum, so a burst of large answers cannot take the memory of the whole process.
 */
export class UpstreamBodyBudget {
  private used = 0;

  constructor(readonly limitBytes: number) {}

  /** Bytes reserved by bodies being read now. */
  get inUse(): number {
    return this.used;
  }

  /** A reservation for the body of one call; release it however the call ends. */
  open(what: string): BodyReservation {
    return new BodyReservation(this, what);
  }

  /** Takes `bytes` if they fit, all or nothing. */
  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }

  giveBack(bytes: number): void {
    this.used -= bytes;
  }
}

/** The bytes one body holds of the budget. */
export class BodyReservation {
  private held = 0;

  constructor(
    private readonly budget: UpstreamBodyBudget,
    private readonly what: string,
  ) {}

  /** Reserves `bytes` more, or throws UpstreamBudgetExceededError (reserving nothing). */
  grow(bytes: number): void {
    if (!this.budget.tryTake(bytes)) throw new UpstreamBudgetExceededError(this.what, this.budget.limitBytes);
    this.held += bytes;
  }

  /** Gives everything back; calling it again does nothing. */
  release(): void {
    this.budget.giveBack(this.held);
    this.held = 0;
  }
}
