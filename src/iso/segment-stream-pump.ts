/**
 * Writes a segment stream into a sink the way `pipe()` does, pausing while the sink is full, but passes a callback
 * with each write and gives the chunk back to the stream from it. A write callback runs once the sink is done with
 * the chunk (for a socket: the kernel has copied it), so the stream can read into that buffer again rather than
 * allocate a new one per chunk. `pipe()` writes without callbacks and so cannot tell when that is.
 */
import type { SegmentStream } from './segment-stream.js';

/** What the pump needs of its destination: a `Writable`, or an `http.ServerResponse`. */
export interface ChunkSink {
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
  end(): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

/** Counts the chunks the sink has taken, so a watcher can tell a sink that stopped taking any. */
export interface PumpProgress {
  chunksWritten: number;
}

/**
 * Starts the flow from `source` into `sink` and ends the sink after the last chunk. Errors are left to the caller,
 * as is destroying the source when the sink goes away (the source then stops; the sink is not ended). Each completed
 * write counts in `progress`.
 */
export function pumpSegments(
  source: SegmentStream,
  sink: ChunkSink,
  progress: PumpProgress = { chunksWritten: 0 },
): void {
  source.consumerRecycles();
  let waitingForDrain = false;
  const resume = (): void => {
    waitingForDrain = false;
    source.resume();
  };
  source.on('data', (chunk: Buffer) => {
    const roomForMore = sink.write(chunk, () => {
      source.recycle(chunk);
      progress.chunksWritten++;
    });
    if (!roomForMore && !waitingForDrain) {
      waitingForDrain = true;
      source.pause();
      sink.once('drain', resume);
    }
  });
  source.once('end', () => sink.end());
}
