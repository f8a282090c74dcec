import type { LoggerService, LogLevel as NestLogLevel } from '@nestjs/common';
import type { LogLevel } from '../config/environment.js';
import { batchedStdout } from './batched-lines.js';
import { redactSecrets } from './redact.js';

const SEVERITY: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Nest's levels mapped onto ours: verbose and debug are debug, log is info, fatal is error. */
const FROM_NEST: Readonly<Record<NestLogLevel, LogLevel>> = {
  verbose: 'debug',
  debug: 'debug',
  log: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'error',
};

export type LogWriter = (line: string) => void;

export interface LogFields {
  readonly [field: string]: string | number | boolean | null | undefined;
}

/**
 * Writes one JSON object per line: time, level, context, msg and any structured fields. Every string is passed
 * through the redactor here, at the logger, so no call site can leak a credential by forgetting to.
 */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly level: LogLevel,
    private readonly write: LogWriter = (line) => batchedStdout().write(line),
    private readonly secretLiterals: readonly string[] = [],
  ) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.emit('info', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }

  /** A structured line, e.g. the per-request log. */
  record(level: LogLevel, context: string, msg: string, fields: LogFields): void {
    if (!this.enabled(level)) return;
    this.writeLine({ level, context, msg, ...fields });
  }

  enabled(level: LogLevel | NestLogLevel): boolean {
    const ours = level in SEVERITY ? (level as LogLevel) : FROM_NEST[level as NestLogLevel];
    return SEVERITY[ours] >= SEVERITY[this.level];
  }

  private emit(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (!this.enabled(level)) return;
    // Nest passes (message, context) or, for errors, (message, stack, context): the context is always last.
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const stack = level === 'error' && rest.length >= 2 && typeof rest[0] === 'string' ? rest[0] : undefined;
    this.writeLine({ level, context, msg: toText(message), stack: stack ?? errorStack(message) });
  }

  /** Fields are flat (strings, numbers, booleans, null): every string among them is redacted, the time is not. */
  private writeLine(fields: Record<string, unknown>): void {
    const line: Record<string, unknown> = { time: new Date().toISOString() };
    for (const [key, value] of Object.entries(fields)) {
      line[key] = typeof value === 'string' ? redactSecrets(value, this.secretLiterals) : value;
    }
    this.write(JSON.stringify(line));
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

function errorStack(message: unknown): string | undefined {
  return message instanceof Error ? message.stack : undefined;
}
