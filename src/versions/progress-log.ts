import type { LoggerService } from '@nestjs/common';

/** Logs a download's progress at most once per interval, and its outcome with the throughput. */
export class ProgressLog {
  private readonly startedAt = Date.now();
  private lastLoggedAt = this.startedAt;

  constructor(
    private readonly logger: LoggerService,
    private readonly name: string,
    private readonly intervalMs: number,
  ) {}

  update(bytesDone: number, bytesTotal: number | undefined): void {
    const now = Date.now();
    if (now - this.lastLoggedAt < this.intervalMs) return;
    this.lastLoggedAt = now;
    const total =
      bytesTotal === undefined ? '' : ` of ${mebibytes(bytesTotal)} (${Math.floor((bytesDone / bytesTotal) * 100)} %)`;
    this.logger.log(`${this.name}: ${mebibytes(bytesDone)}${total}`);
  }

  done(bytes: number): void {
    const seconds = Math.max((Date.now() - this.startedAt) / 1000, 0.001);
    this.logger.log(
      `${this.name}: downloaded ${mebibytes(bytes)} in ${seconds.toFixed(1)} s (${(bytes / 1e6 / seconds).toFixed(1)} MB/s)`,
    );
  }
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
