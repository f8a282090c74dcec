import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { REPO_DIR } from './chart-files.js';

/** Which Debian package provides each program the service runs. */
const PACKAGE_OF: Readonly<Record<string, string>> = {
  xorriso: 'xorriso',
  unsquashfs: 'squashfs-tools',
  'dump.erofs': 'erofs-utils',
  'fsck.erofs': 'erofs-utils',
};

let dockerfile: string;

beforeAll(async () => {
  dockerfile = await readFile(join(REPO_DIR, 'Dockerfile'), 'utf8');
});

/** Programs passed to runChild (or a `run` seam standing for it) in the service's code (tests excluded). */
async function programsTheServiceRuns(): Promise<Set<string>> {
  const programs = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.ts') && !/\.(spec|test-helpers)\.ts$/.test(entry.name)) {
        for (const [, program = ''] of (await readFile(path, 'utf8')).matchAll(/\brun(?:Child)?\('([^']+)'/g))
          programs.add(program);
      }
    }
  };
  await walk(join(REPO_DIR, 'src'));
  return programs;
}

function runtimeStage(text: string): string {
  const stages = text.split(/^FROM /m);
  return stages.at(-1) ?? '';
}

describe('Dockerfile', () => {
  it('installs in the runtime image every Debian package whose programs the service runs', async () => {
    const programs = await programsTheServiceRuns();
    expect([...programs].sort()).toEqual(Object.keys(PACKAGE_OF).sort());
    const install = /apt-get install[^\n]*(?:\\\n[^\n]*)*/.exec(runtimeStage(dockerfile))?.[0] ?? '';
    for (const program of programs) expect(install).toContain(PACKAGE_OF[program] ?? program);
  });

  it('builds in one stage and runs production dependencies only, as UID 1001 in group 0, with /data as a volume', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    const runtime = runtimeStage(dockerfile);
    expect(runtime).toMatch(/^USER 1001:0$/m);
    expect(runtime).toMatch(/^VOLUME \["\/data"\]$/m);
    expect(runtime).toMatch(/chmod -R g=u \/data/);
    expect(runtime).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    expect(runtime).not.toMatch(/npm (ci|install)/);
  });
});
