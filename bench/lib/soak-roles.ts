// The soak's client roles, what one request of each looks like, and how its answer is judged.
import type http from 'node:http';
import { MiB } from './fixture.js';
import { runRequest, type ByteCounter, type RequestOutcome, type SoakRequest } from './soak-request.js';
import { imageUrl, pxeUrl, type SoakTargets } from './soak-targets.js';

export type Role = 'full' | 'minimal' | 'abort' | 'slow' | 'range' | 'pxe';
export type RequestKind =
  'full' | 'minimal' | 'abort-full' | 'abort-minimal' | 'slow-full' | 'slow-minimal' | 'range' | 'pxe';

/** Share of the clients per role; every client keeps its role for the whole run, so the mix is steady. */
/** Full-ISO clients are few on purpose: they share the bandwidth, and more of them would each be too slow to finish
 * a 1 GiB download (and have its length checked) within a 60 s run. */
const ROLE_SHARES: Readonly<Record<Role, number>> = {
  full: 0.1,
  minimal: 0.25,
  abort: 0.15,
  slow: 0.1,
  range: 0.25,
  pxe: 0.15,
};

const RANGE_BYTES = 64 * 1024;
/** Aborts of the full ISO happen in its first part: the customised areas and the start of plain streaming. */
const FULL_ABORT_WINDOW = 32 * MiB;
const SLOW_MIN_BYTES_PER_S = 1e6;
const SLOW_MAX_BYTES_PER_S = 5e6;

export interface RoleContext {
  readonly targets: SoakTargets;
  /** Bounded keep-alive pool for the short requests (Range, PXE), as BMCs and loaders reuse connections. */
  readonly keepAlive: http.Agent;
  readonly counter: ByteCounter;
  readonly stop: AbortSignal;
}

type VerdictResult = 'ok' | 'aborted' | 'cut' | 'unexpected';

export interface Verdict {
  readonly kind: RequestKind;
  readonly result: VerdictResult;
  readonly bytes: number;
  /** From sending the request to its end. */
  readonly ms: number;
  readonly reason?: string;
  readonly detail?: string;
}

interface Problem {
  readonly reason: string;
  readonly detail: string;
}

type Check = (outcome: Extract<RequestOutcome, { state: 'complete' }>) => Problem | undefined;

interface Planned {
  readonly kind: RequestKind;
  readonly request: SoakRequest;
  readonly check: Check;
}

/** Client counts per role by largest remainder, so they add up to `clients`. */
export function assignRoles(clients: number): Role[] {
  const entries = Object.entries(ROLE_SHARES) as [Role, number][];
  const counts = entries.map(([role, share]) => ({
    role,
    count: Math.floor(share * clients),
    rest: share * clients - Math.floor(share * clients),
  }));
  let missing = clients - counts.reduce((sum, entry) => sum + entry.count, 0);
  for (const entry of [...counts].sort((a, b) => b.rest - a.rest)) {
    if (missing-- <= 0) break;
    entry.count += 1;
  }
  return counts.flatMap(({ role, count }) => Array.from({ length: count }, () => role));
}

export async function runRole(role: Role, apiKey: string, context: RoleContext): Promise<Verdict> {
  const planned = plan(role, apiKey, context);
  const startedAt = performance.now();
  const outcome = await runRequest(planned.request, context.stop, context.counter);
  const base = { kind: planned.kind, bytes: outcome.bytes, ms: performance.now() - startedAt };
  if (outcome.state === 'failed')
    return { ...base, result: 'unexpected', reason: outcome.reason, detail: outcome.detail };
  if (outcome.state !== 'complete') return { ...base, result: outcome.state };
  const problem = planned.check(outcome);
  return problem === undefined ? { ...base, result: 'ok' } : { ...base, result: 'unexpected', ...problem };
}

function plan(role: Role, apiKey: string, { targets, keepAlive }: RoleContext): Planned {
  const full = imageUrl(targets, 'full-iso', apiKey);
  const minimal = imageUrl(targets, 'minimal-iso', apiKey);
  const coin = Math.random() < 0.5;
  switch (role) {
    case 'full':
      return { kind: 'full', request: { url: full, agent: false }, check: wholeBody(targets.fullSize) };
    case 'minimal':
      return { kind: 'minimal', request: { url: minimal, agent: false }, check: wholeBody(targets.minimalSize) };
    case 'abort': {
      const size = coin ? Math.min(targets.fullSize, FULL_ABORT_WINDOW) : targets.minimalSize;
      const request = { url: coin ? full : minimal, agent: false as const, abortAfterBytes: randomInt(size) };
      return {
        kind: coin ? 'abort-full' : 'abort-minimal',
        request,
        check: wholeBody(coin ? targets.fullSize : targets.minimalSize),
      };
    }
    case 'slow': {
      // A third read the full ISO, which at 1-5 MB/s lasts the whole run (as a BMC would); the rest finish.
      const toFull = Math.random() < 1 / 3;
      const bytesPerSecond = SLOW_MIN_BYTES_PER_S + Math.random() * (SLOW_MAX_BYTES_PER_S - SLOW_MIN_BYTES_PER_S);
      const request = { url: toFull ? full : minimal, agent: false as const, bytesPerSecond };
      return {
        kind: toFull ? 'slow-full' : 'slow-minimal',
        request,
        check: wholeBody(toFull ? targets.fullSize : targets.minimalSize),
      };
    }
    case 'range': {
      const start = randomInt(targets.fullSize - RANGE_BYTES + 1);
      const headers = { range: `bytes=${start}-${start + RANGE_BYTES - 1}` };
      return {
        kind: 'range',
        request: { url: full, agent: keepAlive, headers },
        check: rangeBody(start, targets.fullSize),
      };
    }
    case 'pxe':
      return { kind: 'pxe', request: { url: pxeUrl(targets, apiKey), agent: keepAlive }, check: wholeBody(undefined) };
  }
}

function randomInt(below: number): number {
  return Math.floor(Math.random() * Math.max(1, below));
}

/** A 200 whose body is exactly its Content-Length, which is the expected image size when one is known. */
function wholeBody(expectedSize: number | undefined): Check {
  return ({ status, headers, bytes }) => {
    if (status !== 200) return { reason: `HTTP ${status}`, detail: `${bytes} body bytes` };
    const length = Number(headers['content-length']);
    if (!Number.isSafeInteger(length))
      return { reason: 'no Content-Length', detail: String(headers['content-length']) };
    if (bytes !== length)
      return { reason: bytes < length ? 'short body' : 'long body', detail: `${bytes} of ${length} bytes` };
    if (expectedSize !== undefined && length !== expectedSize)
      return { reason: 'wrong Content-Length', detail: `${length}, expected ${expectedSize}` };
    return undefined;
  };
}

/** A 206 for exactly the asked range. */
function rangeBody(start: number, size: number): Check {
  const expectedRange = `bytes ${start}-${start + RANGE_BYTES - 1}/${size}`;
  return ({ status, headers, bytes }) => {
    if (status !== 206) return { reason: `HTTP ${status} to a Range request`, detail: `${bytes} body bytes` };
    if (headers['content-range'] !== expectedRange)
      return { reason: 'wrong Content-Range', detail: `${headers['content-range']}, expected ${expectedRange}` };
    if (Number(headers['content-length']) !== RANGE_BYTES || bytes !== RANGE_BYTES) {
      return {
        reason: 'wrong Range length',
        detail: `Content-Length ${headers['content-length']}, body ${bytes} bytes, expected ${RANGE_BYTES}`,
      };
    }
    return undefined;
  };
}
