// Samples a server's resident memory on a fixed interval, keeping the peak and the first and last figures.
import { totalRssBytes, type PidSource } from './proc.js';

export interface RssSample {
  readonly atMs: number;
  readonly rssBytes: number;
}

export interface RssSummary {
  readonly peakBytes: number;
  readonly firstBytes: number;
  readonly lastBytes: number;
  readonly samples: number;
}

export class RssSampler {
  private readonly samples: RssSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly startedAt = performance.now();

  constructor(
    private readonly pids: PidSource,
    private readonly intervalMs = 100,
  ) {}

  start(): this {
    void this.sampleOnce();
    this.timer = setInterval(() => void this.sampleOnce(), this.intervalMs);
    return this;
  }

  /** Takes one last sample, so a short phase still has a figure for its end. */
  async stop(): Promise<RssSummary> {
    clearInterval(this.timer);
    await this.inFlight;
    await this.sampleOnce();
    return this.summary();
  }

  summary(): RssSummary {
    const values = this.samples.map((sample) => sample.rssBytes);
    return {
      peakBytes: Math.max(0, ...values),
      firstBytes: values[0] ?? 0,
      lastBytes: values.at(-1) ?? 0,
      samples: values.length,
    };
  }

  latest(): RssSample | undefined {
    return this.samples.at(-1);
  }

  /** Reads are async: skip a tick rather than pile up reads when /proc is slow. */
  private sampleOnce(): Promise<void> {
    if (this.inFlight !== undefined) return this.inFlight;
    this.inFlight = totalRssBytes(this.pids)
      .then((rssBytes) => {
        if (rssBytes > 0) this.samples.push({ atMs: performance.now() - this.startedAt, rssBytes });
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}
