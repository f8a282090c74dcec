import { describe, expect, it } from '@jest/globals';
import { BatchedLines, JsonLogger } from './json-logger.js';

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

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('BatchedLines', () => {
  it('writes the lines of one turn of the event loop in one write, whole and in order', async () => {
    const writes: string[] = [];
    const lines = new BatchedLines((text) => writes.push(text));
    lines.write('{"n":1}');
    lines.write('{"n":2}');
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(['{"n":1}\n{"n":2}\n']);
    lines.write('{"n":3}');
    await nextTurn();
    expect(writes).toEqual(['{"n":1}\n{"n":2}\n', '{"n":3}\n']);
  });

  it('writes at once when a batch grows past 64 KiB', () => {
    const writes: string[] = [];
    const lines = new BatchedLines((text) => writes.push(text));
    const line = 'x'.repeat(1000);
    for (let n = 0; n < 70; n++) lines.write(line);
    expect(writes).toHaveLength(1);
    expect(writes[0]?.split('\n').filter(Boolean)).toHaveLength(66);
  });

  it('after flushAndWriteThrough (process exit) writes what is pending and then every line at once', () => {
    const writes: string[] = [];
    const lines = new BatchedLines((text) => writes.push(text));
    lines.write('a');
    lines.flushAndWriteThrough();
    lines.write('b');
    expect(writes).toEqual(['a\n', 'b\n']);
  });
});
