// One soak request over raw node:http: the body is counted and dropped, optionally read slowly (pause/resume) or
// abandoned on purpose (socket destroyed) after some bytes. The outcome tells our own endings (a deliberate abort,
// the end of the run) from failures we did not cause.
import http from 'node:http';

/** Without a byte for this long a request counts as stalled: the server stopped sending. */
const STALL_MS = 30_000;

/** Body bytes received by every request, read by the per-second sampler for a throughput figure. */
export interface ByteCounter {
  bytes: number;
}

export interface SoakRequest {
  readonly url: URL;
  /** `false` for a fresh connection per request, or a bounded keep-alive agent. */
  readonly agent: http.Agent | false;
  readonly headers?: Readonly<Record<string, string>>;
  /** Destroy the socket once this many body bytes arrived (only on a 2xx answer, so errors still show). */
  readonly abortAfterBytes?: number;
  /** Read no faster than this, by pausing the response. */
  readonly bytesPerSecond?: number;
}

export type RequestOutcome =
  | {
      readonly state: 'complete';
      readonly status: number;
      readonly headers: http.IncomingHttpHeaders;
      readonly bytes: number;
    }
  /** Ended by us: `aborted` on purpose mid-stream, `cut` because the run was over. */
  | { readonly state: 'aborted' | 'cut'; readonly bytes: number }
  /** `reason` groups failures (no numbers in it); `detail` is this one's particulars. */
  | { readonly state: 'failed'; readonly bytes: number; readonly reason: string; readonly detail: string };

export function runRequest(spec: SoakRequest, stop: AbortSignal, counter: ByteCounter): Promise<RequestOutcome> {
  return new Promise((resolve) => {
    let bytes = 0;
    let ours: 'aborted' | 'cut' | undefined;
    let settled = false;
    let resumeTimer: NodeJS.Timeout | undefined;
    const settle = (outcome: RequestOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(resumeTimer);
      stop.removeEventListener('abort', onStop);
      resolve(outcome);
    };
    // Errors that follow our own destroy() are echoes of it, not failures.
    const fail = (reason: string, detail: string): void =>
      settle(ours === undefined ? { state: 'failed', bytes, reason, detail } : { state: ours, bytes });
    const endEarly = (why: 'aborted' | 'cut'): void => {
      ours = why;
      request.destroy();
      settle({ state: why, bytes });
    };
    const request = http.get(spec.url, { agent: spec.agent, headers: spec.headers }, (response) => {
      const status = response.statusCode ?? 0;
      const startedAt = performance.now();
      const abortAt = status >= 200 && status < 300 ? spec.abortAfterBytes : undefined;
      let ended = false;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        counter.bytes += chunk.length;
        if (abortAt !== undefined && bytes >= abortAt) return endEarly('aborted');
        if (spec.bytesPerSecond !== undefined) resumeTimer = throttle(response, startedAt, bytes, spec.bytesPerSecond);
      });
      response.once('end', () => {
        ended = true;
      });
      response.once('error', (error) => fail(errorReason(error), `${error.message} after ${bytes} body bytes`));
      response.once('close', () => {
        if (ended) settle({ state: 'complete', status, headers: response.headers, bytes });
        else fail('connection closed mid-body', `after ${bytes} body bytes`);
      });
      if (abortAt === 0) endEarly('aborted');
    });
    request.setTimeout(STALL_MS, () => {
      fail(`stalled (no data for ${STALL_MS / 1000} s)`, `after ${bytes} body bytes`);
      request.destroy();
    });
    request.once('error', (error) => fail(errorReason(error), error.message));
    const onStop = (): void => endEarly('cut');
    if (stop.aborted) return onStop();
    stop.addEventListener('abort', onStop, { once: true });
  });
}

/** Pauses the response until the bytes so far fit the rate; returns the timer that resumes it. */
function throttle(
  response: http.IncomingMessage,
  startedAt: number,
  bytes: number,
  bytesPerSecond: number,
): NodeJS.Timeout | undefined {
  const waitMs = startedAt + (bytes / bytesPerSecond) * 1000 - performance.now();
  if (waitMs < 2) return undefined;
  response.pause();
  return setTimeout(() => response.resume(), waitMs);
}

function errorReason(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return `connection error ${code ?? error.name}`;
}
