import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node';

/**
 * Fails the run when a test case skips that test/expected-skips.json does not list. Cases skip when a tool they need
 * is missing (`describe.skipIf(missing.length > 0)`, `ctx.skip(…)`), which is right on a developer's machine but
 * would let CI go green while testing far less: scripts/ensure-deps.sh installs every tool, so in a complete
 * environment only the listed cases skip. Every skipped case is printed after the summary, with its reason.
 */
export interface ExpectedSkip {
  /** The spec file, relative to the repository root. */
  readonly file: string;
  /** The case's full name: its suites and its own name, joined by ` > `, as Vitest prints it. */
  readonly test: string;
  /** Why skipping it is right. */
  readonly reason: string;
}

export interface SkippedCase {
  readonly file: string;
  readonly test: string;
  /** The note a case gave `ctx.skip(note)`, if any. */
  readonly note?: string;
}

export interface SkipVerdict {
  readonly expected: readonly (SkippedCase & { readonly reason: string })[];
  readonly unexpected: readonly SkippedCase[];
  /** Listed cases of the files that ran which did not skip: the list has gone stale. */
  readonly ranAnyway: readonly ExpectedSkip[];
}

export function readExpectedSkips(listFile: string): ExpectedSkip[] {
  const parsed = JSON.parse(readFileSync(listFile, 'utf8')) as { skips?: unknown };
  if (!Array.isArray(parsed.skips)) throw new Error(`${listFile}: "skips" must be an array`);
  return parsed.skips.map((entry: unknown, index) => {
    const { file, test, reason } = (entry ?? {}) as Record<string, unknown>;
    if (typeof file !== 'string' || typeof test !== 'string' || typeof reason !== 'string' || reason.trim() === '') {
      throw new Error(`${listFile}: skips[${index}] needs "file", "test" and a non-empty "reason"`);
    }
    return { file, test, reason };
  });
}

/** Sorts the skipped cases of a run into listed and unlisted ones; `ranFiles` are the spec files that ran. */
export function judgeSkips(skipped: readonly SkippedCase[], expected: readonly ExpectedSkip[], ranFiles: ReadonlySet<string>): SkipVerdict {
  const key = (file: string, test: string): string => `${file}\0${test}`;
  const listed = new Map(expected.map((entry) => [key(entry.file, entry.test), entry]));
  const skippedKeys = new Set(skipped.map((one) => key(one.file, one.test)));
  return {
    expected: skipped.flatMap((one) => {
      const entry = listed.get(key(one.file, one.test));
      return entry === undefined ? [] : [{ ...one, reason: entry.reason }];
    }),
    unexpected: skipped.filter((one) => !listed.has(key(one.file, one.test))),
    ranAnyway: expected.filter((entry) => ranFiles.has(entry.file) && !skippedKeys.has(key(entry.file, entry.test))),
  };
}

export class SkipGateReporter implements Reporter {
  private vitest: Vitest | undefined;

  constructor(private readonly options: { readonly listFile: string }) {}

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const log = (line: string): void => (this.vitest ? this.vitest.logger.log(line) : console.log(line));
    const list = this.vitest === undefined ? this.options.listFile : relative(this.vitest.config.root, this.options.listFile);
    // A case whose suite failed (a beforeAll threw) is reported skipped, but the failure already fails the run.
    const skipped = testModules.flatMap((module) => [...module.children.allTests('skipped')].filter((test) => !suiteFailed(test)).map(skippedCase));
    if (this.vitest?.config.testNamePattern !== undefined) {
      // A name filter (-t) skips every case it does not select: those skips say nothing about the environment.
      if (skipped.length > 0) log(`\n${skipped.length} case(s) skipped; not checked against ${list} while a test name filter (-t) is active.`);
      return;
    }
    const verdict = judgeSkips(skipped, readExpectedSkips(this.options.listFile), new Set(testModules.map((module) => module.relativeModuleId)));
    if (skipped.length > 0) log(`\nSkipped cases: ${verdict.expected.length} expected, ${verdict.unexpected.length} unexpected (${list})`);
    for (const one of verdict.expected) log(`  expected   ${one.file} > ${one.test}: ${one.reason}`);
    for (const one of verdict.unexpected) log(`  UNEXPECTED ${one.file} > ${one.test}${one.note === undefined ? '' : `: ${one.note}`}`);
    for (const entry of verdict.ranAnyway) log(`  listed in ${list} but ran: ${entry.file} > ${entry.test}`);
    if (verdict.unexpected.length === 0) return;
    log(`FAILED: ${verdict.unexpected.length} case(s) skipped that ${list} does not list. Install what they need `
      + '(scripts/ensure-deps.sh test) or, after review, list them with the reason.');
    // Vitest exits with process.exitCode once the reporters are done, and only ever sets it to 1 itself.
    process.exitCode = 1;
  }
}

function suiteFailed(test: TestCase): boolean {
  for (let node: TestCase['parent'] | undefined = test.parent; node !== undefined; node = node.type === 'suite' ? node.parent : undefined) {
    if (node.errors().length > 0) return true;
  }
  return false;
}

function skippedCase(test: TestCase): SkippedCase {
  const result = test.result();
  const note = result.state === 'skipped' ? result.note : undefined;
  return { file: test.module.relativeModuleId, test: test.fullName, ...(note !== undefined && { note }) };
}
