import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** Process-level tests run the built service (`node dist/main.js`), as production does: build it once first. */
export default async function setup(): Promise<void> {
  await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: new URL('..', import.meta.url).pathname });
}
