import { Module, type DynamicModule, type LoggerService } from '@nestjs/common';
import { LoggingConfig } from '../config/app-config.js';
import type { LogLevel } from '../config/environment.js';
import { redactSecrets } from './redact.js';

const SEVERITY: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogWriter = (line: string) => void;

type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** One JSON object per line (time, level, context, msg, fields); every string is redacted here, so none can leak. */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly level: LogLevel,
    private readonly write: LogWriter = (line) => batchedStdout().write(line),
    private readonly secretLiterals: readonly string[] = [],
  ) {}

  readonly log = (message: unknown, ...rest: unknown[]): void => this.emit('info', message, rest);
  readonly error = (message: unknown, ...rest: unknown[]): void => this.emit('error', message, rest);
  readonly warn = (message: unknown, ...rest: unknown[]): void => this.emit('warn', message, rest);
  readonly debug = (message: unknown, ...rest: unknown[]): void => this.emit('debug', message, rest);
  readonly verbose = (message: unknown, ...rest: unknown[]): void => this.emit('debug', message, rest);
  readonly fatal = (message: unknown, ...rest: unknown[]): void => this.emit('error', message, rest);

  record(level: LogLevel, context: string | undefined, msg: string, fields: LogFields): void {
    if (SEVERITY[level] < SEVERITY[this.level]) return;
    // Fields are flat, so redacting each string value before JSON.stringify sees every string without a replacer.
    const line: Record<string, unknown> = { time: new Date().toISOString() };
    for (const [key, value] of Object.entries({ level, context, msg, ...fields }))
      line[key] = typeof value === 'string' ? redactSecrets(value, this.secretLiterals) : value;
    this.write(JSON.stringify(line));
  }

  private emit(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (SEVERITY[level] < SEVERITY[this.level]) return;
    // Nest passes (message, context) or, for errors, (message, stack, context): the context is always last.
    const last = rest.at(-1);
    const context = typeof last === 'string' ? last : undefined;
    const given = level === 'error' && rest.length >= 2 && typeof rest[0] === 'string' ? rest[0] : undefined;
    const stack = given ?? (message instanceof Error ? message.stack : undefined);
    this.record(level, context, toText(message), { stack });
  }
}

function toText(message: unknown): string {
  if (typeof message === 'string') return message;
  if (message instanceof Error) return message.message;
  try {
    return JSON.stringify(message);
  } catch {
    return String(message);
  }
}

/** One write per turn of the event loop (or 64 KiB): a write per line was the largest cost of a Range request. */
export class BatchedLines {
  private pending = '';
  private writeThrough = false;

  constructor(private readonly sink: (text: string) => void) {}

  write(line: string): void {
    if (this.writeThrough) return this.sink(`${line}\n`);
    // After this turn's I/O callbacks, so the lines of every request they finished share one write.
    if (this.pending === '') setImmediate(() => this.flush());
    this.pending += `${line}\n`;
    if (this.pending.length >= 64 * 1024) this.flush();
  }

  flush(): void {
    const text = this.pending;
    this.pending = '';
    if (text !== '') this.sink(text);
  }

  /** Writes what is pending, then every later line at once: at exit no turn of the event loop is left to come. */
  flushAndWriteThrough(): void {
    this.flush();
    this.writeThrough = true;
  }
}

let stdoutLines: BatchedLines | undefined;

/** The process-wide batcher for standard output, flushed at exit (process.exit() included). */
function batchedStdout(): BatchedLines {
  if (stdoutLines) return stdoutLines;
  process.once('exit', () => stdoutLines?.flushAndWriteThrough());
  return (stdoutLines = new BatchedLines((text) => process.stdout.write(text)));
}

@Module({})
export class LoggingModule {
  /** `writer` defaults to standard output; tests pass their own to capture lines. */
  static forRoot(writer?: LogWriter): DynamicModule {
    const logger = {
      provide: JsonLogger,
      inject: [LoggingConfig],
      useFactory: (config: LoggingConfig) => new JsonLogger(config.level, writer, config.secretValues),
    };
    return { module: LoggingModule, global: true, providers: [logger], exports: [JsonLogger] };
  }
}
