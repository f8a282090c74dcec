// Runs the soak's clients: each loops over requests of its role until the run ends, then every request still in
// flight is cut. Client CPU is measured so a client-bound run shows as one.
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import { sleep } from './lifetime.js';
import { runHostileClient, type HostileContext, type HostileRole } from './soak-hostile.js';
import { runRole, type Role } from './soak-roles.js';
import type { ByteCounter } from './soak-request.js';
import type { SoakTally } from './soak-tally.js';
import type { SoakTargets } from './soak-targets.js';

/** Clients start this far apart, so the first second is not one burst of connects. */
const STAGGER_MS = 10;
/** After an unexpected error a client waits this long, so a dead server does not make a hot loop. */
const ERROR_BACKOFF_MS = 100;

export interface LoadOptions {
  readonly roles: readonly Role[];
  readonly targets: SoakTargets;
  readonly apiKeys: readonly string[];
  readonly durationMs: number;
  readonly counter: ByteCounter;
  /** Filled as requests end, so progress can be read while the load runs. */
  readonly tally: SoakTally;
  /** Ends the load early (the service exited, the bench is stopping). */
  readonly abort: AbortSignal;
  /** Misbehaving clients run next to the honest ones, until the same end. */
  readonly hostile?: { readonly roles: readonly HostileRole[]; readonly context: Omit<HostileContext, 'stop'> };
}

export interface LoadResult {
  readonly tally: SoakTally;
  readonly wallSeconds: number;
  /** This process's CPU over the load, in cores (1.0 = one core flat out). */
  readonly clientCores: number;
}

export async function runSoakLoad(options: LoadOptions): Promise<LoadResult> {
  // A plain controller and timer: a composite of AbortSignal.timeout() can be collected before it fires.
  const controller = new AbortController();
  const stop = controller.signal;
  const timer = setTimeout(() => controller.abort(), options.durationMs);
  const onAbort = (): void => controller.abort();
  options.abort.addEventListener('abort', onAbort, { once: true });
  // Every in-flight request listens on the one stop signal; that many listeners is by design.
  setMaxListeners(options.roles.length + (options.hostile?.roles.length ?? 0) + 10, stop);
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: options.roles.length });
  const { tally } = options;
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  try {
    const context = { targets: options.targets, keepAlive, counter: options.counter, stop };
    const hostile = options.hostile;
    const hostileClients = (hostile?.roles ?? []).map(async (role, index) => {
      await sleep(index * STAGGER_MS);
      if (hostile !== undefined) await runHostileClient(role, index, { ...hostile.context, stop });
    });
    await Promise.all([
      ...hostileClients,
      ...options.roles.map(async (role, index) => {
        await sleep(index * STAGGER_MS);
        for (let iteration = 0; !stop.aborted; iteration++) {
          // Each client has its own key and moves on to the next per request: the cache sees both hits and misses.
          const apiKey = options.apiKeys[(index + iteration) % options.apiKeys.length] ?? 'soak';
          const verdict = await runRole(role, apiKey, context);
          tally.add(verdict);
          if (verdict.result === 'unexpected' && !stop.aborted) await sleep(ERROR_BACKOFF_MS);
        }
      }),
    ]);
  } finally {
    clearTimeout(timer);
    options.abort.removeEventListener('abort', onAbort);
    keepAlive.destroy();
  }
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { tally, wallSeconds, clientCores: (cpu.user + cpu.system) / 1e6 / wallSeconds };
}
