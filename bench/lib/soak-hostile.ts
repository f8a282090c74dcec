// The soak's hostile share: clients that misbehave the way a careless or malicious client can, next to the honest
// load. They are not judged by what they get (they get little, on purpose) but by whether the service stops them
// where it should; the honest clients' verdicts show whether any of it reached them.
import net from 'node:net';
import { sleep } from './lifetime.js';
import { imageUrl, type SoakTargets } from './soak-targets.js';

export type HostileRole = 'pipeline' | 'vanish' | 'slowloris' | 'oversized';

/** Share of the hostile clients per role. */
const HOSTILE_SHARES: Readonly<Record<HostileRole, number>> = {
  pipeline: 0.3,
  vanish: 0.2,
  slowloris: 0.2,
  oversized: 0.3,
};

/** Requests one pipelining client writes at once on its connection, then never reads. */
const PIPELINED_REQUESTS = 8;
/** How long a pipelining or vanishing client holds its connection before it goes: up to this, at random. */
const MAX_HOLD_MS = 3_000;
/** A slowloris client sends one more header line this often, and never ends its headers. */
const SLOWLORIS_TRICKLE_MS = 1_000;
/** A slowloris connection the service has not closed after this long is a finding: its header timeout did not work. */
const SLOWLORIS_GIVE_UP_MS = 60_000;
/** After each attempt a hostile client pauses this long, so the hostile share stays a share and not a flood. */
const PAUSE_MS = 50;

/** Infra-envs of the stand-in assisted-service whose answers cannot fit the image. */
export interface OversizedTargets {
  /** Its Ignition is tens of MB that do not compress into the Ignition area. */
  readonly hugeIgnitionId: string;
  /** Its static-network ramdisk is larger than the minimal ISO's ramdisk area. */
  readonly hugeRamdiskId: string;
}

export interface HostileCounts {
  attempts: number;
  /** Still going when the run ended, before the service had its chance to act (a slowloris within its deadline). */
  cut: number;
  /** The service behaved as it should: closed the slowloris, refused the oversized answer with 400, … */
  expected: number;
  /** The service did something it should not have. */
  findings: number;
}

export class HostileTally {
  readonly roles = new Map<HostileRole, HostileCounts>();
  /** Finding → count, with the first occurrence's particulars. */
  readonly findings = new Map<string, { count: number; role: HostileRole; detail: string }>();
  /** Seconds a slowloris connection stayed open until the service closed it. */
  readonly slowlorisHeldS: number[] = [];

  record(role: HostileRole, outcome: Outcome): void {
    const counts = this.roles.get(role) ?? { attempts: 0, cut: 0, expected: 0, findings: 0 };
    this.roles.set(role, counts);
    counts.attempts += 1;
    if (outcome === 'cut') {
      counts.cut += 1;
      return;
    }
    if (outcome.finding === undefined) {
      counts.expected += 1;
      return;
    }
    counts.findings += 1;
    const known = this.findings.get(outcome.finding);
    if (known !== undefined) known.count += 1;
    else this.findings.set(outcome.finding, { count: 1, role, detail: outcome.detail ?? '' });
  }

  findingCount(): number {
    return [...this.roles.values()].reduce((sum, counts) => sum + counts.findings, 0);
  }
}

/** Client counts per hostile role: every role gets at least one client when there are enough to go round. */
export function assignHostileRoles(clients: number): HostileRole[] {
  const roles = Object.keys(HOSTILE_SHARES) as HostileRole[];
  const counts = roles.map((role) => Math.floor(HOSTILE_SHARES[role] * clients));
  for (let index = 0; counts.reduce((a, b) => a + b, 0) < clients; index = (index + 1) % roles.length)
    counts[index] = (counts[index] ?? 0) + 1;
  return roles.flatMap((role, index) => Array.from({ length: counts[index] ?? 0 }, () => role));
}

export interface HostileContext {
  readonly targets: SoakTargets;
  readonly oversized: OversizedTargets;
  readonly tally: HostileTally;
  readonly stop: AbortSignal;
}

/** Runs one hostile client until the run ends. */
export async function runHostileClient(role: HostileRole, index: number, context: HostileContext): Promise<void> {
  for (let iteration = 0; !context.stop.aborted; iteration++) {
    const apiKey = `hostile-${index}-${iteration % 50}`;
    context.tally.record(role, await attempt(role, apiKey, context));
    await sleep(PAUSE_MS);
  }
}

/** Nothing, or what the service did wrong; `cut` when the end of the run came first. */
type Outcome = { readonly finding?: string; readonly detail?: string } | 'cut';

function attempt(role: HostileRole, apiKey: string, context: HostileContext): Promise<Outcome> {
  switch (role) {
    case 'pipeline':
      return pipelineAndVanish(context, apiKey);
    case 'vanish':
      return vanish(context, apiKey);
    case 'slowloris':
      return slowloris(context);
    case 'oversized':
      return oversized(context, apiKey);
  }
}

function connect(url: URL): net.Socket {
  const socket = net.connect({ host: url.hostname, port: Number(url.port) });
  socket.on('error', () => undefined);
  return socket;
}

function requestText(url: URL, extraHeaders = ''): string {
  return `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${extraHeaders}\r\n`;
}

/** Waits `ms`, or less when the run ends. */
function hold(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    }
    stop.addEventListener('abort', done, { once: true });
  });
}

/** Eight pipelined downloads on one connection, nothing read, then the connection closed or reset. */
async function pipelineAndVanish({ targets, stop }: HostileContext, apiKey: string): Promise<Outcome> {
  const full = imageUrl(targets, 'full-iso', apiKey);
  const rootfs = new URL(
    `${targets.baseUrl}/boot-artifacts/rootfs?${new URLSearchParams({ version: full.searchParams.get('version') ?? '', arch: full.searchParams.get('arch') ?? '' }).toString()}`,
  );
  const socket = connect(full);
  socket.pause();
  socket.write(
    Array.from({ length: PIPELINED_REQUESTS }, (_, index) => requestText(index % 2 === 0 ? rootfs : full)).join(''),
  );
  await hold(Math.random() * MAX_HOLD_MS, stop);
  if (Math.random() < 0.5) socket.destroy();
  else socket.resetAndDestroy();
  return {};
}

/** A download abandoned right after the request was written, or at its first body bytes. */
async function vanish({ targets, stop }: HostileContext, apiKey: string): Promise<Outcome> {
  const url = imageUrl(targets, Math.random() < 0.5 ? 'full-iso' : 'minimal-iso', apiKey);
  const socket = connect(url);
  socket.write(requestText(url));
  if (Math.random() < 0.5) {
    socket.destroy();
    return {};
  }
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stop.removeEventListener('abort', done);
      resolve();
    };
    socket.once('data', done);
    socket.once('close', done);
    stop.addEventListener('abort', done, { once: true });
  });
  socket.destroy();
  return {};
}

/** Headers that never end, one line a second: the service must close the connection on its own. */
async function slowloris({ targets, tally, stop }: HostileContext): Promise<Outcome> {
  const url = new URL(`${targets.baseUrl}/live`);
  const socket = connect(url);
  const openedAt = performance.now();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(`GET /live HTTP/1.1\r\nHost: ${url.host}\r\n`);
  const trickle = setInterval(
    () => socket.write(`X-Slow-${Math.floor(Math.random() * 1e6)}: ${'x'.repeat(8)}\r\n`),
    SLOWLORIS_TRICKLE_MS,
  );
  const gaveUp = hold(SLOWLORIS_GIVE_UP_MS, stop).then(() => 'gave up' as const);
  const result = await Promise.race([closed.then(() => 'closed' as const), gaveUp]);
  clearInterval(trickle);
  socket.destroy();
  if (result === 'closed') {
    tally.slowlorisHeldS.push((performance.now() - openedAt) / 1000);
    return {};
  }
  // Cut by the end of the run before the service had its chance: neither a pass nor a finding.
  if (stop.aborted) return 'cut';
  return { finding: 'slowloris connection still open', detail: `after ${SLOWLORIS_GIVE_UP_MS / 1000} s` };
}

/** An infra-env whose Ignition or ramdisk cannot fit: the answer must be a 400 that says why. */
async function oversized({ targets, oversized: ids, stop }: HostileContext, apiKey: string): Promise<Outcome> {
  const hugeIgnition = Math.random() < 0.5;
  const url = imageUrl(
    { baseUrl: targets.baseUrl, infraEnvId: hugeIgnition ? ids.hugeIgnitionId : ids.hugeRamdiskId },
    hugeIgnition ? 'full-iso' : 'minimal-iso',
    apiKey,
  );
  try {
    const response = await fetch(url, { signal: AbortSignal.any([stop, AbortSignal.timeout(30_000)]) });
    const body = await response.text();
    if (response.status === 400 && /larger than|more than|does not fit/i.test(body)) return {};
    return {
      finding: `oversized ${hugeIgnition ? 'Ignition' : 'ramdisk'} answered ${response.status}`,
      detail: body.slice(0, 120),
    };
  } catch (error) {
    if (stop.aborted) return 'cut';
    return {
      finding: `oversized ${hugeIgnition ? 'Ignition' : 'ramdisk'}: ${error instanceof Error ? error.name : 'error'}`,
      detail: String(error),
    };
  }
}
