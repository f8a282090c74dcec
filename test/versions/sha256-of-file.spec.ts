import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { sha256OfFile } from '../../src/versions/image-fetcher.js';

describe('sha256OfFile', () => {
  it('hashes a file larger than one read, and stops when aborted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sha256-of-file-'));
    try {
      const content = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
      const path = join(dir, 'file');
      await writeFile(path, content);
      expect(await sha256OfFile(path, new AbortController().signal)).toBe(
        createHash('sha256').update(content).digest('hex'),
      );
      await expect(sha256OfFile(path, AbortSignal.abort())).rejects.toThrow(/abort/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
