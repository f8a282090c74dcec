// A Jest reporter that fails the run when a test case is skipped that test/expected-skips.json does not list.
// Cases must not skip because a tool is missing: scripts/ensure-deps.sh installs every tool a test uses, so in a
// complete environment only the listed, reviewed cases (architecture-specific ones) skip. Every skipped case is
// printed after the summary with its reason. Plain JavaScript: Jest loads reporters without transforming them.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const SKIPPED = new Set(['pending', 'skipped', 'todo', 'disabled']);

/** @typedef {{ file: string, test: string, reason: string }} ExpectedSkip */

/** @param {string} listFile @returns {ExpectedSkip[]} */
function readExpectedSkips(listFile) {
  const parsed = JSON.parse(readFileSync(listFile, 'utf8'));
  if (!Array.isArray(parsed.skips)) throw new Error(`${listFile}: "skips" must be an array`);
  for (const [index, { file, test, reason }] of parsed.skips.entries()) {
    if (typeof file !== 'string' || typeof test !== 'string' || typeof reason !== 'string' || reason.trim() === '') {
      throw new Error(`${listFile}: skips[${index}] needs "file", "test" and a non-empty "reason"`);
    }
  }
  return parsed.skips;
}

export default class SkipGateReporter {
  /** @type {Error | undefined} */
  #error;

  /** @param {{ rootDir: string, testNamePattern?: string }} globalConfig @param {{ listFile: string }} options */
  constructor(globalConfig, options) {
    // Paths are shown and listed relative to the repository (npm runs Jest there), whichever config ran.
    this.root = process.cwd();
    this.filtered = Boolean(globalConfig.testNamePattern);
    // Jest expands <rootDir> in its own settings, not in a reporter's options.
    this.listFile = options.listFile.replace('<rootDir>', globalConfig.rootDir);
  }

  /** @param {unknown} _contexts @param {{ testResults: { testFilePath: string, testResults: { fullName: string, status: string }[] }[] }} results */
  onRunComplete(_contexts, results) {
    const skipped = results.testResults.flatMap((file) =>
      file.testResults
        .filter((test) => SKIPPED.has(test.status))
        .map((test) => ({ file: relative(this.root, file.testFilePath), test: test.fullName })),
    );
    const list = relative(this.root, this.listFile);
    if (this.filtered) {
      // A name filter (-t) skips every case it does not select: those skips say nothing about the environment.
      if (skipped.length > 0)
        console.log(
          `\n${skipped.length} case(s) skipped; not checked against ${list} while a name filter (-t) is active.`,
        );
      return;
    }
    const key = (/** @type {{file: string, test: string}} */ one) => `${one.file}\0${one.test}`;
    const listed = new Map(readExpectedSkips(this.listFile).map((entry) => [key(entry), entry]));
    const expected = skipped.filter((one) => listed.has(key(one)));
    const unexpected = skipped.filter((one) => !listed.has(key(one)));
    if (skipped.length > 0)
      console.log(`\nSkipped cases: ${expected.length} expected, ${unexpected.length} unexpected (${list})`);
    for (const one of expected) console.log(`  expected   ${one.file} > ${one.test}: ${listed.get(key(one))?.reason}`);
    for (const one of unexpected) console.log(`  UNEXPECTED ${one.file} > ${one.test}`);
    const ran = new Set(results.testResults.map((file) => relative(this.root, file.testFilePath)));
    const skippedKeys = new Set(skipped.map(key));
    for (const entry of listed.values()) {
      if (ran.has(entry.file) && !skippedKeys.has(key(entry)))
        console.log(`  listed in ${list} but ran: ${entry.file} > ${entry.test}`);
    }
    if (unexpected.length > 0) {
      this.#error = new Error(
        `${unexpected.length} case(s) skipped that ${list} does not list: install what they need (scripts/ensure-deps.sh test) or, after review, list them with the reason`,
      );
      console.log(`FAILED: ${this.#error.message}`);
    }
  }

  /** Jest exits non-zero when a reporter has an error to report. */
  getLastError() {
    return this.#error;
  }
}
