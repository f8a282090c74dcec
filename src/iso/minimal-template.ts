/** The minimal ISO template of a full live ISO (see "The minimal ISO template" in docs/live-iso.md). */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_FILE_MODE, editBootConfigs, validateRootfsUrl, type TemplateFile } from './boot-config.js';
import { ChildProcessError, ChildTimeoutError, OperationAbortedError, lastLines } from './child-process.js';
import { runChild, throwIfAborted, type ToolOptions } from './child-process.js';
import { IsoError, regularFile } from './iso9660.js';
import { readIsoIndex } from './iso9660-tree.js';
import { BOOT_FILE_PATHS, type CpuArchitecture } from './live-iso.js';

/** The area the service overwrites with assisted-service's minimal-initrd ramdisk. */
export const RAMDISK_AREA_SIZE = 1024 * 1024;
const NMSTATE_IMAGE_PATH = 'images/nmstate.img';
const TEMPLATE_ARCHES: readonly CpuArchitecture[] = ['x86_64', 'arm64', 'ppc64le'];
/** Problem severities xorriso reports; anything at SORRY or above also aborts the run. */
const PROBLEM_LINE = /\b(?:SORRY|FAILURE|FATAL|ABORT|MISHAP|aborting)\b/;

export class TemplateBuildError extends IsoError {}

export interface MinimalTemplateRequest extends ToolOptions {
  fullIsoPath: string;
  outputPath: string;
  arch: CpuArchitecture;
  rootfsUrl: string;
  nmstateImage?: Buffer;
  /** The temp file's name beside `outputPath`, for a caller that sweeps leftovers after a crash; default random. */
  temporaryName?: string;
}

/** `joliet`: xorriso writes a Joliet tree only when asked, whatever the loaded image had. */
type TemplatePlan = { joliet: boolean; remove: string[]; files: TemplateFile[] };
type StagedFile = { diskPath: string; isoPath: string; mode: number };
type XorrisoJob = { sourceIso: string; targetIso: string; plan: TemplatePlan; staged: StagedFile[] };

/** One xorriso run writes a temp file renamed into place once complete; an abort or a timeout leaves no files. */
export async function buildMinimalTemplate(req: MinimalTemplateRequest): Promise<void> {
  const what = `minimal ISO template of ${req.fullIsoPath} (${req.arch})`;
  try {
    if (!TEMPLATE_ARCHES.includes(req.arch))
      throw new TemplateBuildError(`no minimal ISO template for architecture ${JSON.stringify(req.arch)}`);
    validateRootfsUrl(req.rootfsUrl);
    if (path.resolve(req.outputPath) === path.resolve(req.fullIsoPath))
      throw new TemplateBuildError(`the template cannot overwrite its source ${req.fullIsoPath}`);
    throwIfAborted(req.signal, `building the ${what}`);
    await mkdir(req.workDir, { recursive: true });
    const scratch = await mkdtemp(path.join(req.workDir, 'minimal-template-'));
    try {
      const plan = await planTemplate(req.fullIsoPath, req.rootfsUrl, req.nmstateImage);
      // Numbered names: two grub.cfg files must not collide, and no ISO name reaches a disk path.
      const staged = plan.files.map((file, index) => ({ ...file, diskPath: path.join(scratch, `file-${index}`) }));
      for (const { diskPath, content } of staged) await writeFile(diskPath, content);
      throwIfAborted(req.signal, `building the ${what}`);
      const build = (targetIso: string): Promise<void> =>
        runXorriso(req, { sourceIso: req.fullIsoPath, targetIso, plan, staged });
      await writeAtomically(req.outputPath, build, req.temporaryName);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  } catch (error) {
    // Every failure but an abort becomes one TemplateBuildError naming the template.
    if (error instanceof OperationAbortedError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    const cause = error instanceof TemplateBuildError && error.cause !== undefined ? error.cause : error;
    throw new TemplateBuildError(`cannot build the ${what}: ${reason}`, { cause });
  }
}

/** Which files go, which come, and the edited boot configs. Reads only small files of the source. */
async function planTemplate(isoPath: string, rootfsUrl: string, nmstateImage?: Buffer): Promise<TemplatePlan> {
  const index = await readIsoIndex(isoPath);
  const initrds = [BOOT_FILE_PATHS.ramdiskArea, ...(nmstateImage === undefined ? [] : [NMSTATE_IMAGE_PATH])];
  const extraInitrds = initrds.map((initrd) => `/${initrd}`);
  const files = await editBootConfigs(isoPath, index, { rootfsUrl, extraInitrds });
  const ramdiskArea = Buffer.alloc(RAMDISK_AREA_SIZE);
  files.push({ isoPath: BOOT_FILE_PATHS.ramdiskArea, content: ramdiskArea, mode: DEFAULT_FILE_MODE });
  if (nmstateImage) files.push({ isoPath: NMSTATE_IMAGE_PATH, content: nmstateImage, mode: DEFAULT_FILE_MODE });
  const remove = regularFile(index, BOOT_FILE_PATHS.rootfs) === undefined ? [] : [BOOT_FILE_PATHS.rootfs];
  return { joliet: index.hasJolietTree, remove, files };
}

/** Runs `write(temp)` for a temp file beside `output`; renames it on success, removes it always. */
export async function writeAtomically(output: string, write: (temp: string) => Promise<void>, name?: string) {
  const temp = path.join(path.dirname(output), name ?? `.${path.basename(output)}.${randomUUID()}.tmp`);
  await mkdir(path.dirname(output), { recursive: true });
  try {
    await write(temp);
    // The rename must not land before the data: a crash would leave a corrupt file under its name.
    const handle = await open(temp, 'r+');
    await handle.sync().finally(() => handle.close());
    await rename(temp, output);
  } finally {
    await rm(temp, { force: true });
  }
}

async function runXorriso(req: MinimalTemplateRequest, job: XorrisoJob): Promise<void> {
  try {
    await runChild('xorriso', xorrisoArgs(job), { signal: req.signal, timeout: req.timeout, maxStdoutBytes: 1 << 20 });
  } catch (error) {
    if (!(error instanceof ChildProcessError)) throw error;
    // A hung xorriso's last progress lines would hide that it was stopped for taking too long.
    const timedOut = error instanceof ChildTimeoutError;
    const detail = timedOut ? error.message : `xorriso failed: ${xorrisoProblems(error.stderr) || error.message}`;
    throw new TemplateBuildError(detail, { cause: error });
  }
}

/** `-boot_image any replay` re-creates the boot records for the new file positions and keeps the volume ID. */
export function xorrisoArgs({ sourceIso, targetIso, plan, staged }: XorrisoJob): string[] {
  const isoPaths = staged.map((file) => `/${file.isoPath}`);
  const byMode = new Map<number, string[]>();
  for (const file of staged) byMode.set(file.mode, [...(byMode.get(file.mode) ?? []), `/${file.isoPath}`]);
  // No host configuration; stop before writing anything at the first problem; literal paths ('*' must not expand).
  const strict = ['-no_rc', '-abort_on', 'SORRY', '-return_with', 'SORRY', '32', '-report_about', 'WARNING'];
  const devices = ['-iso_rr_pattern', 'off', '-indev', `stdio:${sourceIso}`, '-outdev', `stdio:${targetIso}`];
  // A plain image from block 0 as mkisofs writes, not a session behind an emulated TOC (boot-info table at block 48).
  const replay = ['-boot_image', 'any', 'replay', '-compliance', 'no_emul_toc'];
  return [
    ...strict,
    ...devices,
    ...replay,
    ...(plan.joliet ? ['-joliet', 'on', '-compliance', 'joliet_long_names'] : []),
    ...(plan.remove.length > 0 ? ['-rm', ...plan.remove.map((isoPath) => `/${isoPath}`), '--'] : []),
    ...staged.flatMap((file) => ['-map', file.diskPath, `/${file.isoPath}`]),
    // Mapped files would otherwise carry the service's uid/gid and the scratch files' modes.
    ...[...byMode].flatMap(([mode, paths]) => ['-chmod', `0${mode.toString(8)}`, ...paths, '--']),
    ...(isoPaths.length > 0 ? ['-chown', '0', ...isoPaths, '--', '-chgrp', '0', ...isoPaths, '--'] : []),
    '-commit',
  ];
}

/** The lines of xorriso's stderr that say what went wrong, else its last lines. */
export function xorrisoProblems(stderr: string, maxLines = 8): string {
  const problems = stderr.split('\n').filter((line) => PROBLEM_LINE.test(line));
  return lastLines(problems.length > 0 ? problems.join('\n') : stderr, maxLines);
}
