import { describe, expect, it } from '@jest/globals';
import { failureLabel } from './versions.module.js';

describe('failureLabel', () => {
  it('keeps a reason on one bounded line', () => {
    expect(failureLabel('xorriso failed:\n  FAILURE  one |\ttwo ')).toBe('xorriso failed: FAILURE one | two');
    const long = failureLabel('x'.repeat(1000));
    expect(long).toHaveLength(200);
    expect(long.endsWith('…')).toBe(true);
  });
});
