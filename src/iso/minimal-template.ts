/**
 * Builds the minimal ISO template (§5) of a full live ISO: rootfs.img removed, the ramdisk area
 * (and nmstate.img) added, boot menus pointed at the rootfs URL. One xorriso run writes a temp
 * file next to the output, renamed into place only once complete, so a reader never sees a
 * partial template.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { validateRootfsUrl } from './boot-config-edit.js';
import {
  ChildProcessError,
  ChildTimeoutError,
  OperationAbortedError,
  runChild,
  throwIfAborted,
  type ChildTimeout,
} from './child-process.js';
import { TemplateBuildError } from './minimal-template-errors.js';
import { planTemplate, type TemplatePlan } from './minimal-template-plan.js';
import { xorrisoArgs, xorrisoProblems, type StagedFile } from './minimal-template-xorriso.js';

export { TemplateBuildError } from './minimal-template-errors.js';
export { NMSTATE_IMAGE_PATH, RAMDISK_AREA_PATH, RAMDISK_AREA_SIZE } from './minimal-template-plan.js';

export type MinimalTemplateArch = 'x86_64' | 'arm64' | 'ppc64le';
const TEMPLATE_ARCHES: readonly string[] = ['x86_64', 'arm64', 'ppc64le'];

export interface MinimalTemplateRequest {
  fullIsoPath: string;
  outputPath: string;
  /** Scratch space; a subdirectory is made in it and removed afterwards. */
  workDir: string;
  arch: MinimalTemplateArch;
  /** Refused when validateRootfsUrl refuses it. */
  rootfsUrl: string;
  /** nmstate.img content; when set it is added as images/nmstate.img and loaded as an initrd. */
  nmstateImage?: Buffer;
  /** Aborting kills xorriso; the call then rejects with OperationAbortedError and leaves no files. */
  signal?: AbortSignal;
  /**
   * File name, beside `outputPath`, that xorriso writes to before the rename (default: a hidden name with a
   * random UUID). A caller that sweeps the directory after a crash names it, so that it knows the leftover.
   */
  temporaryName?: string;
  /** Longest xorriso may run; past it, it is killed and the build fails (leaving no files). */
  timeout?: ChildTimeout;
}

export async function buildMinimalTemplate(req: MinimalTemplateRequest): Promise<void> {
  const what = `minimal ISO template of ${req.fullIsoPath} (${req.arch})`;
  try {
    checkRequest(req);
    throwIfAborted(req.signal, `building the ${what}`);
    await withScratchDir(req.workDir, async (scratch) => {
      const plan = await planTemplate(req.fullIsoPath, req.rootfsUrl, req.nmstateImage);
      const staged = await stageFiles(scratch, plan);
      throwIfAborted(req.signal, `building the ${what}`);
      await writeAtomically(req.outputPath, req.temporaryName, (target) => runXorriso(req, plan, staged, target));
    });
  } catch (error) {
    throw asTemplateError(error, what);
  }
}

function checkRequest(req: MinimalTemplateRequest): void {
  if (!TEMPLATE_ARCHES.includes(req.arch)) {
    throw new TemplateBuildError(`no minimal ISO template for architecture ${JSON.stringify(req.arch)}`);
  }
  validateRootfsUrl(req.rootfsUrl);
  if (path.resolve(req.outputPath) === path.resolve(req.fullIsoPath)) {
    throw new TemplateBuildError(`the template cannot overwrite its source ${req.fullIsoPath}`);
  }
}

async function withScratchDir(workDir: string, use: (scratch: string) => Promise<void>): Promise<void> {
  await mkdir(workDir, { recursive: true });
  const scratch = await mkdtemp(path.join(workDir, 'minimal-template-'));
  try {
    await use(scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Writes each new or edited file into `scratch` for xorriso to map into the image. */
async function stageFiles(scratch: string, plan: TemplatePlan): Promise<StagedFile[]> {
  const staged: StagedFile[] = [];
  for (const [index, file] of plan.files.entries()) {
    // Numbered names: two grub.cfg files must not collide, and no ISO name reaches the disk path.
    const diskPath = path.join(scratch, `file-${index}`);
    await writeFile(diskPath, file.content);
    staged.push({ diskPath, isoPath: file.isoPath, mode: file.mode });
  }
  return staged;
}

/** Runs `write(temp)` for a temp name beside `outputPath`; renames on success, removes the temp file always. */
async function writeAtomically(
  outputPath: string,
  temporaryName: string | undefined,
  write: (target: string) => Promise<void>,
): Promise<void> {
  await mkdir(path.dirname(outputPath), { recursive: true });
  const temp = path.join(
    path.dirname(outputPath),
    temporaryName ?? `.${path.basename(outputPath)}.${randomUUID()}.tmp`,
  );
  try {
    await write(temp);
    await syncFile(temp);
    await rename(temp, outputPath);
  } finally {
    await rm(temp, { force: true });
  }
}

/** The rename must not be able to land before the data: a crash would leave a corrupt template. */
async function syncFile(filePath: string): Promise<void> {
  const handle = await open(filePath, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function runXorriso(
  req: MinimalTemplateRequest,
  plan: TemplatePlan,
  staged: StagedFile[],
  target: string,
): Promise<void> {
  const args = xorrisoArgs({ sourceIso: req.fullIsoPath, targetIso: target, plan, staged });
  try {
    await runChild('xorriso', args, { signal: req.signal, timeout: req.timeout, maxStdoutBytes: 1024 * 1024 });
  } catch (error) {
    if (!(error instanceof ChildProcessError)) throw error;
    // A hung xorriso's last progress lines would hide that it was stopped for taking too long.
    const detail =
      error instanceof ChildTimeoutError
        ? error.message
        : `xorriso failed: ${xorrisoProblems(error.stderr) || error.message}`;
    throw new TemplateBuildError(detail, { cause: error });
  }
}

/** Every failure but an abort becomes one TemplateBuildError naming the template; `cause` keeps the original. */
function asTemplateError(error: unknown, what: string): Error {
  if (error instanceof OperationAbortedError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const cause = error instanceof TemplateBuildError && error.cause !== undefined ? error.cause : error;
  return new TemplateBuildError(`cannot build the ${what}: ${reason}`, { cause });
}
