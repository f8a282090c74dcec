/**
 * The single xorriso run that writes a minimal ISO template. Loading the full ISO and writing a
 * new image with `-boot_image any replay` re-creates the El Torito catalog, the boot-info table
 * of isolinux.bin and the isohybrid MBR/GPT for the new file positions, and keeps the volume ID;
 * only removed and mapped files differ from the source.
 */
import type { TemplatePlan } from './minimal-template-plan.js';

export interface StagedFile {
  /** Where the content was written on disk. */
  diskPath: string;
  /** ISO path, no leading slash. */
  isoPath: string;
  mode: number;
}

export interface XorrisoJob {
  sourceIso: string;
  targetIso: string;
  plan: TemplatePlan;
  staged: StagedFile[];
}

/** Problem severities xorriso reports; anything at SORRY or above also aborts the run. */
const PROBLEM_LINE = /\b(?:SORRY|FAILURE|FATAL|ABORT|MISHAP|aborting)\b/;

export function xorrisoArgs(job: XorrisoJob): string[] {
  const isoPaths = job.staged.map((file) => `/${file.isoPath}`);
  return [
    // No startup files: the run must not depend on the host's xorriso configuration.
    '-no_rc',
    // Stop at the first problem, before anything is written, and exit non-zero.
    '-abort_on',
    'SORRY',
    '-return_with',
    'SORRY',
    '32',
    '-report_about',
    'WARNING',
    // Paths are literal: a '*' or '[' in a name must not expand.
    '-iso_rr_pattern',
    'off',
    '-indev',
    `stdio:${job.sourceIso}`,
    '-outdev',
    `stdio:${job.targetIso}`,
    '-boot_image',
    'any',
    'replay',
    // A plain image starting at block 0, as mkisofs writes, not a first session at block 32
    // behind an emulated table of contents (which would point the boot-info table at block 48).
    '-compliance',
    'no_emul_toc',
    // xorriso writes Joliet only when asked, whatever the loaded image had.
    ...(job.plan.joliet ? ['-joliet', 'on', '-compliance', 'joliet_long_names'] : []),
    ...(job.plan.remove.length > 0 ? ['-rm', ...job.plan.remove.map((isoPath) => `/${isoPath}`), '--'] : []),
    ...job.staged.flatMap((file) => ['-map', file.diskPath, `/${file.isoPath}`]),
    // Mapped files would otherwise carry the service's uid/gid and the scratch files' modes.
    ...chmodArgs(job.staged),
    ...(isoPaths.length > 0 ? ['-chown', '0', ...isoPaths, '--', '-chgrp', '0', ...isoPaths, '--'] : []),
    '-commit',
  ];
}

function chmodArgs(staged: StagedFile[]): string[] {
  const byMode = new Map<number, string[]>();
  for (const file of staged) byMode.set(file.mode, [...(byMode.get(file.mode) ?? []), `/${file.isoPath}`]);
  return [...byMode].flatMap(([mode, paths]) => ['-chmod', `0${mode.toString(8)}`, ...paths, '--']);
}

/** The lines of xorriso's stderr that say what went wrong, else its last lines. */
export function xorrisoProblems(stderr: string, maxLines = 8): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const problems = lines.filter((line) => PROBLEM_LINE.test(line));
  return (problems.length > 0 ? problems : lines).slice(-maxLines).join(' | ');
}
