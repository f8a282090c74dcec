import { describe, expect, it } from '@jest/globals';
import { BatchedLines } from './batched-lines.js';

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
