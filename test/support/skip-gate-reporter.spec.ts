import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));
const REPORTER = fileURLToPath(new URL('./skip-gate-reporter.js', import.meta.url));
const SAMPLE = `describe('sample', () => {
  it('runs', () => undefined);
  it.skip('is skipped on purpose', () => undefined);
  it.skip('is skipped for no good reason', () => undefined);
});
`;

/**
 * The reporter in a real Jest run of a small sample, as CI runs the suite: the exit code is what fails CI.
 */
describe('the skip gate in a Jest run', () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'skip-gate-'));
    const lists = {
      'one-listed': ['sample is skipped on purpose'],
      'both-listed': ['sample is skipped on purpose', 'sample is skipped for no good reason'],
    };
    // One directory per run, each with its own jest.config.json: Jest looks for a config file in the directory it runs in.
    for (const [name, listed] of Object.entries(lists)) {
      const dir = join(work, name);
      await mkdir(dir);
      await writeFile(join(dir, 'sample.test.js'), SAMPLE);
      const listFile = join(dir, 'skips.json');
      await writeFile(
        listFile,
        JSON.stringify({ skips: listed.map((test) => ({ file: 'sample.test.js', test, reason: 'sample' })) }),
      );
      await writeFile(
        join(dir, 'jest.config.json'),
        JSON.stringify({ reporters: ['default', [REPORTER, { listFile }]] }),
      );
    }
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  function runJest(run: string, ...extra: string[]): Promise<{ code: number; output: string }> {
    const jest = join(REPOSITORY, 'node_modules', 'jest', 'bin', 'jest.js');
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [jest, ...extra],
        { cwd: join(work, run), env: { ...process.env, NO_COLOR: '1', CI: 'true' } },
        (error, stdout, stderr) => {
          resolve({
            code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
            output: `${stdout}${stderr}`,
          });
        },
      );
    });
  }

  it('fails the run on a skip the list does not hold, naming it', async () => {
    const { code, output } = await runJest('one-listed');
    expect(output).toMatch(/Tests:\s+2 skipped, 1 passed, 3 total/);
    expect(output).toContain('UNEXPECTED sample.test.js > sample is skipped for no good reason');
    expect(output).toContain('expected   sample.test.js > sample is skipped on purpose: sample');
    expect(code).toBe(1);
  });

  it('passes the run when every skip is listed, still printing them', async () => {
    const { code, output } = await runJest('both-listed');
    expect(output).toContain('Skipped cases: 2 expected, 0 unexpected');
    expect(code).toBe(0);
  });

  it('checks nothing while a name filter is active: every unselected case is skipped then', async () => {
    const { code, output } = await runJest('one-listed', '-t', 'runs');
    expect(output).toContain('not checked against skips.json while a name filter (-t) is active');
    expect(code).toBe(0);
  });
});
