// Reads a V8 .cpuprofile (as written by `node --cpu-prof`) and sums self time per function and per category, so a
// profile can be read as a table instead of a flame chart. Main thread only: the libuv threadpool (file reads) and
// the kernel time of syscalls made from the main thread show up in /proc CPU, not here.
import { readFile } from 'node:fs/promises';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfileJson {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

interface ProfileLine {
  readonly name: string;
  readonly selfMs: number;
}

export interface ProfileSummary {
  readonly wallMs: number;
  /** Sampled time that was not `(idle)`. */
  readonly busyMs: number;
  readonly top: readonly ProfileLine[];
  readonly categories: readonly ProfileLine[];
}

function frameName(frame: CallFrame): string {
  const where = frame.url === '' ? '' : ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
  return `${frame.functionName || '(anonymous)'}${where}`;
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  return dist >= 0 ? url.slice(dist + 1) : url.replace(/^file:\/\//, '');
}

/** Where a function belongs: our code, a dependency, Node's own JS, V8 pseudo-frames. */
function category(frame: CallFrame): string {
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (frame.url.startsWith('node:')) return `node:${frame.url.slice(5).split('/')[0] ?? ''}`;
  const modules = frame.url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = frame.url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? 'node_modules');
  }
  return 'service';
}

function sorted(totals: Map<string, number>, limit: number): ProfileLine[] {
  return [...totals]
    .map(([name, selfMs]) => ({ name, selfMs }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, limit);
}

export function summarizeProfile(profile: CpuProfileJson, limit = 30): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const perFunction = new Map<string, number>();
  const perCategory = new Map<string, number>();
  let busyMs = 0;
  profile.samples.forEach((id, index) => {
    const frame = byId.get(id)?.callFrame;
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    if (frame === undefined || frame.functionName === '(idle)') return;
    busyMs += ms;
    const name = frameName(frame);
    perFunction.set(name, (perFunction.get(name) ?? 0) + ms);
    const group = category(frame);
    perCategory.set(group, (perCategory.get(group) ?? 0) + ms);
  });
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs,
    top: sorted(perFunction, limit),
    categories: sorted(perCategory, 20),
  };
}

export async function readProfile(file: string): Promise<CpuProfileJson> {
  return JSON.parse(await readFile(file, 'utf8')) as CpuProfileJson;
}

/** Self time per function and per category, in ms and (when `gigabytes` is given) in s/GB. */
export function formatSummary(summary: ProfileSummary, gigabytes?: number): string {
  const perGB = (ms: number): string =>
    gigabytes === undefined || gigabytes === 0 ? '' : `  ${(ms / 1000 / gigabytes).toFixed(4)} s/GB`;
  const line = (entry: ProfileLine): string =>
    `  ${entry.selfMs.toFixed(0).padStart(7)} ms${perGB(entry.selfMs)}  ${entry.name}`;
  return [
    `main thread: ${summary.busyMs.toFixed(0)} ms busy of ${summary.wallMs.toFixed(0)} ms sampled${perGB(summary.busyMs)}`,
    'by category:',
    ...summary.categories.map(line),
    'by function (self time):',
    ...summary.top.map(line),
  ].join('\n');
}
