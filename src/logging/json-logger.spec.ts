import { describe, expect, it } from '@jest/globals';
import { JsonLogger } from './json-logger.js';

function capture(
  level: 'debug' | 'info' | 'warn' | 'error',
  secrets: string[] = [],
): { logger: JsonLogger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return {
    logger: new JsonLogger(level, (line) => lines.push(JSON.parse(line) as Record<string, unknown>), secrets),
    lines,
  };
}

describe('JsonLogger', () => {
  it('writes one JSON object per line with time, level, context and message', () => {
    const { logger, lines } = capture('info');
    logger.log('hello', 'Ctx');
    logger.warn('careful', 'Other');
    expect(lines).toEqual([
      { time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: 'info', context: 'Ctx', msg: 'hello' },
      { time: expect.any(String), level: 'warn', context: 'Other', msg: 'careful' },
    ]);
  });

  it('honours the level: debug and verbose lines only at debug', () => {
    const quiet = capture('warn');
    quiet.logger.debug('d');
    quiet.logger.verbose('v');
    quiet.logger.log('i');
    quiet.logger.error('e', undefined, 'Ctx');
    expect(quiet.lines.map((line) => line.level)).toEqual(['error']);
    const chatty = capture('debug');
    chatty.logger.verbose('v');
    expect(chatty.lines.map((line) => line.level)).toEqual(['debug']);
  });

  it('keeps the stack of an error and its context', () => {
    const { logger, lines } = capture('info');
    logger.error('failed', 'Error: boom\n    at x', 'Ctx');
    expect(lines[0]).toMatchObject({ level: 'error', context: 'Ctx', msg: 'failed', stack: 'Error: boom\n    at x' });
  });

  it('redacts credentials in every string field, structured ones included', () => {
    const { logger, lines } = capture('info', ['configured-header-secret']);
    logger.log('GET /images/x?api_key=k1 with configured-header-secret', 'Ctx');
    logger.record('info', 'HttpRequest', 'GET', { path: '/bytoken/tok123/4.18/x86_64/full.iso', userAgent: 'curl' });
    const text = JSON.stringify(lines);
    expect(text).not.toContain('k1');
    expect(text).not.toContain('configured-header-secret');
    expect(text).not.toContain('tok123');
    expect(lines[1]).toMatchObject({ path: '/bytoken/REDACTED/4.18/x86_64/full.iso', userAgent: 'curl' });
  });
});
