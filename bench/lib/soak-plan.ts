// The soak run's knobs, from the command line: how long, how many clients, how big a fixture.
import { GiB, MiB } from './fixture.js';

class SoakUsageError extends Error {
  override name = 'SoakUsageError';
}

export interface SoakPlan {
  readonly quick: boolean;
  readonly seconds: number;
  readonly clients: number;
  /** Misbehaving clients next to the honest ones (pipelining and vanishing, slowloris, oversized upstream answers). */
  readonly hostileClients: number;
  readonly rootfsBytes: number;
  /** Distinct api_key values the clients rotate through, so the customisation cache sees hits and misses. */
  readonly apiKeys: number;
  readonly sampleEveryMs: number;
  /** One line of the printed time series per this many seconds. */
  readonly seriesEverySeconds: number;
  /** Start-up cache sync (copy of the fixture, template and nmstate build) may take this long. */
  readonly syncTimeoutMs: number;
  /** The whole run, set-up included: on expiry everything started is stopped. */
  readonly deadlineMs: number;
}

function flag(argv: readonly string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

function positiveInteger(argv: readonly string[], name: string, fallback: number): number {
  const text = flag(argv, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new SoakUsageError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

export function soakPlan(argv: readonly string[]): SoakPlan {
  const quick = argv.includes('--quick');
  const seconds = positiveInteger(argv, 'seconds', quick ? 20 : 60);
  const syncTimeoutMs = 5 * 60_000;
  return {
    quick,
    seconds,
    clients: positiveInteger(argv, 'clients', quick ? 40 : 100),
    hostileClients: argv.includes('--no-hostile') ? 0 : positiveInteger(argv, 'hostile', quick ? 8 : 20),
    rootfsBytes: positiveInteger(argv, 'rootfs-mib', quick ? 256 : GiB / MiB) * MiB,
    apiKeys: 50,
    sampleEveryMs: 1000,
    seriesEverySeconds: 5,
    syncTimeoutMs,
    // Fixture build and sync, the load, then draining and settling: generous, but bounded.
    deadlineMs: syncTimeoutMs + seconds * 1000 + 120_000,
  };
}
