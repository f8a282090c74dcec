/** Test-only: root filesystem images (squashfs / EROFS) made with the real tools, wrapped like a live rootfs.img. */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { newcCpio } from '../fixtures/iso-fixture-content.js';
import { runTool } from '../fixtures/iso-fixture-tools.js';

export type RootImageKind = 'squashfs' | 'erofs';

export interface TreeFile {
  data: Buffer;
  mode: number;
}

/** Builds a root image of `kind` from `tree` (image path → file), in a scratch dir under `workDir`. */
export async function buildRootImage(
  workDir: string,
  kind: RootImageKind,
  tree: Record<string, TreeFile>,
): Promise<Buffer> {
  const scratch = await mkdtemp(path.join(workDir, `root-${kind}-`));
  try {
    const root = path.join(scratch, 'root');
    await mkdir(root);
    for (const [imagePath, file] of Object.entries(tree)) {
      const target = path.join(root, imagePath);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, file.data);
      await chmod(target, file.mode);
    }
    const image = path.join(scratch, `root.${kind}`);
    if (kind === 'squashfs') await runTool('mksquashfs', [root, image, '-noappend', '-quiet', '-comp', 'xz']);
    else await runTool('mkfs.erofs', ['-zlz4hc', '--quiet', image, root]);
    return await readFile(image);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** rootfs.img as RHCOS ships it: an uncompressed newc cpio whose first member is the root image. */
export function rootfsCpio(kind: RootImageKind, image: Buffer, before: { name: string; data: Buffer }[] = []): Buffer {
  return newcCpio([
    ...before.map((member) => ({ ...member, mode: 0o100644 })),
    { name: `root.${kind}`, mode: 0o100644, data: image },
  ]);
}
