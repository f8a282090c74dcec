import { describe, it, expect } from '@jest/globals';
import { lastLines } from './child-process.js';

describe('runChild', () => {
  it('formats the last lines of a message', () => {
    expect(lastLines('a\n\n b \nc\n', 2)).toBe('b | c');
  });
});
