/**
 * Log lines written in batches: the lines logged during one turn of the event loop go out in one write. Writes to
 * a pipe (a container's standard output) are synchronous in Node and each one wakes the reader; with one request
 * line per Range request, a write per line was the single largest cost of such a request. Lines stay whole and in
 * order, and whatever is pending is written synchronously when the process exits, also through process.exit().
 */
export type TextSink = (text: string) => void;

/** Pending text beyond which a batch is written at once rather than at the end of the turn. */
const MAX_PENDING_CHARS = 64 * 1024;

export class BatchedLines {
  private pending: string[] = [];
  private pendingChars = 0;
  private scheduled = false;
  private writeThrough = false;

  constructor(private readonly sink: TextSink) {}

  write(line: string): void {
    if (this.writeThrough) return this.sink(`${line}\n`);
    this.pending.push(line);
    this.pendingChars += line.length + 1;
    if (this.pendingChars >= MAX_PENDING_CHARS) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      // setImmediate runs after the I/O callbacks of this turn, so the lines of every request they finished share one write.
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.pendingChars = 0;
    this.sink(text);
  }

  /** Writes what is pending, then every later line at once: no turn of the event loop is left to come. */
  flushAndWriteThrough(): void {
    this.flush();
    this.writeThrough = true;
  }
}

let stdoutLines: BatchedLines | undefined;

/** The process-wide batcher for standard output; the first call also arranges the flush at exit. */
export function batchedStdout(): BatchedLines {
  if (stdoutLines === undefined) {
    const lines = new BatchedLines((text) => process.stdout.write(text));
    process.once('exit', () => lines.flushAndWriteThrough());
    stdoutLines = lines;
  }
  return stdoutLines;
}
