import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeSkips } from './skip-gate.reporter.js';

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));
const REPORTER = fileURLToPath(new URL('./skip-gate.reporter.ts', import.meta.url));

describe('judgeSkips', () => {
  const expected = [{ file: 'a.spec.ts', test: 'suite > listed', reason: 'arch-specific' }, { file: 'b.spec.ts', test: 'other', reason: 'r' }];

  it('sorts skipped cases into listed (with the reason) and unlisted, by file and full name', () => {
    const verdict = judgeSkips(
      [{ file: 'a.spec.ts', test: 'suite > listed' }, { file: 'a.spec.ts', test: 'suite > not listed', note: 'zip missing' }, { file: 'c.spec.ts', test: 'suite > listed' }],
      expected,
      new Set(['a.spec.ts', 'c.spec.ts']),
    );
    expect(verdict.expected).toEqual([{ file: 'a.spec.ts', test: 'suite > listed', reason: 'arch-specific' }]);
    expect(verdict.unexpected).toEqual([{ file: 'a.spec.ts', test: 'suite > not listed', note: 'zip missing' }, { file: 'c.spec.ts', test: 'suite > listed' }]);
    expect(verdict.ranAnyway).toEqual([]);
  });

  it('names listed cases of the files that ran which did not skip, and ignores files that did not run', () => {
    const verdict = judgeSkips([], expected, new Set(['a.spec.ts']));
    expect(verdict.ranAnyway).toEqual([expected[0]]);
    expect(verdict.unexpected).toEqual([]);
  });
});

/**
 * The reporter in a real Vitest run of a small sample, as CI runs the suite: the exit code is what fails CI. The
 * sample lives in a temporary directory whose node_modules points at the repository's, so it imports Vitest.
 */
describe('SkipGateReporter in a Vitest run', () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'skip-gate-'));
    await symlink(join(REPOSITORY, 'node_modules'), join(work, 'node_modules'), 'dir');
    await writeFile(join(work, 'sample.check.ts'), [
      "import { describe, it } from 'vitest';",
      "describe('sample', () => {",
      "  it('runs', () => undefined);",
      "  it.skip('is skipped on purpose', () => undefined);",
      "  it('skips itself', (ctx) => ctx.skip('a tool is missing'));",
      '});',
      '',
    ].join('\n'));
    for (const [name, listed] of [['one-listed', ['sample > is skipped on purpose']], ['both-listed', ['sample > is skipped on purpose', 'sample > skips itself']]] as const) {
      const skips = listed.map((test) => ({ file: 'sample.check.ts', test, reason: 'sample' }));
      await writeFile(join(work, `${name}.json`), JSON.stringify({ skips }));
      await writeFile(join(work, `${name}.config.mjs`), [
        `import { SkipGateReporter } from ${JSON.stringify(REPORTER)};`,
        `export default { test: { include: ['sample.check.ts'], reporters: ['default', new SkipGateReporter({ listFile: ${JSON.stringify(join(work, `${name}.json`))} })] } };`,
        '',
      ].join('\n'));
    }
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  function runVitest(config: string): Promise<{ code: number; output: string }> {
    return new Promise((resolve) => {
      const vitest = join(REPOSITORY, 'node_modules', 'vitest', 'vitest.mjs');
      execFile(process.execPath, [vitest, 'run', '--root', work, '--config', join(work, config)], { cwd: work, env: { ...process.env, NO_COLOR: '1', CI: 'true' } }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, output: `${stdout}${stderr}` });
      });
    });
  }

  it('fails the run on a skip the list does not hold, naming it with its note', async () => {
    const { code, output } = await runVitest('one-listed.config.mjs');
    expect(output).toMatch(/Tests\s+1 passed \| 2 skipped/);
    expect(output).toContain('UNEXPECTED sample.check.ts > sample > skips itself: a tool is missing');
    expect(output).toContain('expected   sample.check.ts > sample > is skipped on purpose: sample');
    expect(code).toBe(1);
  });

  it('passes the run when every skip is listed, still printing them', async () => {
    const { code, output } = await runVitest('both-listed.config.mjs');
    expect(output).toContain('Skipped cases: 2 expected, 0 unexpected');
    expect(code).toBe(0);
  });
});
