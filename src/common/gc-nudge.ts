import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options?: { type?: 'minor' | 'major' }) => void;

let gcFunction: GcFunction | null | undefined;

/**
 * V8's `gc()`, obtained once at run time (the flag applies to contexts created after it is set), or null where the
 * engine refuses. Used only to bound garbage that V8 would otherwise let pile up, never for correctness.
 */
function garbageCollector(): GcFunction | null {
  if (gcFunction !== undefined) return gcFunction;
  try {
    setFlagsFromString('--expose-gc');
    const candidate: unknown = runInNewContext('gc');
    gcFunction = typeof candidate === 'function' ? (candidate as GcFunction) : null;
  } catch {
    gcFunction = null;
  }
  return gcFunction;
}

/**
 * Asks for a young-generation collection every `everyBytes` of data that arrived in buffers Node allocated per
 * socket read. V8 notices such buffers only through its external-memory limit, so without a nudge tens of MB of
 * dead ones pile up during a large HTTP download; a scavenge every few MiB costs well under a millisecond.
 */
export class GcNudge {
  private sinceLast = 0;

  constructor(private readonly everyBytes: number) {}

  add(bytes: number): void {
    this.sinceLast += bytes;
    if (this.sinceLast < this.everyBytes) return;
    this.sinceLast = 0;
    garbageCollector()?.({ type: 'minor' });
  }
}
