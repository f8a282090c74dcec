/** Test-only helpers for the ISO integration specs: small real ISOs built with xorriso, and xorriso's view of them. */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile, open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Overwrite } from '../../src/iso/virtual-file.js';

const SECTOR = 2048;

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs a tool with `input` (default none) on stdin; rejects with its stderr when it exits non-zero or hangs. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const execOptions = {
      cwd: options.cwd,
      encoding: 'buffer' as const,
      maxBuffer: 256 * 1024 * 1024,
      timeout: 30_000,
    };
    const child = execFile(command, args, execOptions, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr.toString()}`));
        return;
      }
      resolve({ stdout, stderr: stderr.toString() });
    });
    // Tools that prompt (cpio asking for the next volume) must see end of input, not wait.
    child.stdin?.end(options.input);
  });
}

export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Builds a Rock Ridge + Joliet ISO holding `files` (ISO path → content) and returns its path. */
export async function buildTestIso(
  workDir: string,
  files: Record<string, string | Buffer>,
  name = 'test.iso',
): Promise<string> {
  const root = await mkdtemp(path.join(workDir, 'root-'));
  for (const [isoPath, content] of Object.entries(files)) {
    const target = path.join(root, isoPath);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
  }
  const isoPath = path.join(workDir, name);
  await run('xorriso', ['-as', 'mkisofs', '-R', '-J', '-V', 'rhcos-test', '-o', isoPath, root]);
  return isoPath;
}

/** xorriso's report of where each file's data is: ISO path (no leading slash) → byte offset and size. */
export async function xorrisoFileOffsets(isoPath: string): Promise<Map<string, { offset: number; size: number }>> {
  const { stdout } = await run('xorriso', ['-indev', isoPath, '-find', '/', '-type', 'f', '-exec', 'report_lba', '--']);
  const result = new Map<string, { offset: number; size: number }>();
  const line = /^File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*\d+\s*,\s*(\d+)\s*,\s*'\/(.*)'$/;
  for (const text of stdout.toString('utf8').split('\n')) {
    const match = line.exec(text.trim());
    if (match) result.set(match[3] ?? '', { offset: Number(match[1]) * SECTOR, size: Number(match[2]) });
  }
  return result;
}

/** Extracts one file from an ISO with xorriso. */
export async function xorrisoExtract(isoPath: string, isoFilePath: string, workDir: string): Promise<Buffer> {
  const target = path.join(await mkdtemp(path.join(workDir, 'extract-')), path.basename(isoFilePath));
  await run('xorriso', ['-osirrox', 'on', '-indev', isoPath, '-extract', `/${isoFilePath}`, target]);
  return readFile(target);
}

/** Writes patches (and zero-fills) into a file in place (the tests patch a copy of the ISO). */
export async function applyPatchesToFile(filePath: string, patches: readonly Overwrite[]): Promise<void> {
  const handle = await open(filePath, 'r+');
  try {
    for (const patch of patches) {
      const data = 'data' in patch ? patch.data : Buffer.alloc(patch.zeros);
      await handle.write(data, 0, data.length, patch.offset);
    }
  } finally {
    await handle.close();
  }
}
