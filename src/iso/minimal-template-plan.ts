/**
 * What turns a full live ISO into a minimal ISO template (§5): which files go, which come, and
 * the edited boot configs. Reads only small files of the source ISO; writes nothing.
 */
import { editGrubConfig, editIsolinuxConfig, updateKargsJson, type BootConfigEdit } from './boot-config-edit.js';
import { readIsoFileBytes, readIsoIndex } from './iso9660.js';
import { withIsoReader } from './iso9660-reader.js';
import {
  DESCRIPTOR_TERMINATOR,
  FIRST_DESCRIPTOR_SECTOR,
  SECTOR_SIZE,
  parseDescriptorHeader,
} from './iso9660-records.js';
import type { IsoFile, IsoIndex } from './iso9660-types.js';
import { KARGS_JSON_PATH } from './kargs-areas.js';
import { TemplateBuildError } from './minimal-template-errors.js';
import { ROOTFS_PATH } from './nmstate-extract-rootfs.js';

export const RAMDISK_AREA_PATH = 'images/assisted_installer_custom.img';
/** The area the service overwrites with assisted-service's minimal-initrd ramdisk. */
export const RAMDISK_AREA_SIZE = 1024 * 1024;
export const NMSTATE_IMAGE_PATH = 'images/nmstate.img';
/** Searched in this order; every one present is edited, so no boot path keeps the old menu. */
export const GRUB_CONFIG_PATHS = [
  'EFI/redhat/grub.cfg',
  'EFI/fedora/grub.cfg',
  'EFI/centos/grub.cfg',
  'boot/grub/grub.cfg',
];
export const ISOLINUX_CONFIG_PATH = 'isolinux/isolinux.cfg';
/** What a rationalised Rock Ridge tree (mkisofs -r) gives files; used when the source has no mode. */
const DEFAULT_FILE_MODE = 0o444;
const JOLIET_ESCAPES = new Set(['%/@', '%/C', '%/E']);
const DESCRIPTOR_SUPPLEMENTARY = 2;
const MAX_DESCRIPTORS = 64;

export interface TemplateFile {
  /** ISO path, no leading slash. */
  isoPath: string;
  content: Buffer;
  /** Permission bits in the template. */
  mode: number;
}

export interface TemplatePlan {
  volumeId: string;
  /** The source has a Joliet tree; xorriso must be told to write one again. */
  joliet: boolean;
  /** ISO paths to remove, no leading slash. */
  remove: string[];
  /** Files to add or replace. */
  files: TemplateFile[];
}

export async function planTemplate(isoPath: string, rootfsUrl: string, nmstateImage?: Buffer): Promise<TemplatePlan> {
  const index = await readIsoIndex(isoPath);
  const edit: BootConfigEdit = {
    rootfsUrl,
    extraInitrds: [`/${RAMDISK_AREA_PATH}`, ...(nmstateImage === undefined ? [] : [`/${NMSTATE_IMAGE_PATH}`])],
  };
  const configs = await editBootConfigs(isoPath, index, edit);
  const files = [...configs];
  const kargsJson = regularFile(index, KARGS_JSON_PATH);
  if (kargsJson !== undefined) {
    const edited = new Map(configs.map((config) => [config.isoPath, config.content]));
    const content = updateKargsJson(await readIsoFileBytes(isoPath, kargsJson), edited);
    files.push({ isoPath: KARGS_JSON_PATH, content, mode: modeOf(kargsJson) });
  }
  files.push({ isoPath: RAMDISK_AREA_PATH, content: Buffer.alloc(RAMDISK_AREA_SIZE), mode: DEFAULT_FILE_MODE });
  if (nmstateImage !== undefined) {
    files.push({ isoPath: NMSTATE_IMAGE_PATH, content: nmstateImage, mode: DEFAULT_FILE_MODE });
  }
  const remove = regularFile(index, ROOTFS_PATH) === undefined ? [] : [ROOTFS_PATH];
  return { volumeId: index.volumeId, joliet: await hasJolietTree(isoPath), remove, files };
}

async function editBootConfigs(isoPath: string, index: IsoIndex, edit: BootConfigEdit): Promise<TemplateFile[]> {
  const grubFiles = GRUB_CONFIG_PATHS.flatMap((path) => regularFile(index, path) ?? []);
  if (grubFiles.length === 0) {
    throw new TemplateBuildError(
      `ISO image ${index.volumeId} has no grub.cfg (looked for ${GRUB_CONFIG_PATHS.join(', ')})`,
    );
  }
  const edited: TemplateFile[] = [];
  for (const file of grubFiles) edited.push(await editConfig(isoPath, file, (text) => editGrubConfig(text, edit)));
  const isolinux = regularFile(index, ISOLINUX_CONFIG_PATH);
  if (isolinux !== undefined) {
    edited.push(await editConfig(isoPath, isolinux, (text) => editIsolinuxConfig(text, edit)));
  }
  return edited;
}

async function editConfig(isoPath: string, file: IsoFile, edit: (text: string) => string): Promise<TemplateFile> {
  // latin1 maps bytes to characters one to one, so bytes the edits do not touch come back unchanged.
  const text = (await readIsoFileBytes(isoPath, file)).toString('latin1');
  return { isoPath: file.path, content: Buffer.from(edit(text), 'latin1'), mode: modeOf(file) };
}

function regularFile(index: IsoIndex, path: string): IsoFile | undefined {
  const file = index.get(path);
  return file === undefined || file.isDirectory ? undefined : file;
}

function modeOf(file: IsoFile): number {
  return file.mode === undefined ? DEFAULT_FILE_MODE : file.mode & 0o7777;
}

/** A supplementary volume descriptor with a UCS-2 escape sequence is a Joliet tree. */
export async function hasJolietTree(isoPath: string): Promise<boolean> {
  return withIsoReader(isoPath, async (reader) => {
    for (let index = 0; index < MAX_DESCRIPTORS; index++) {
      const offset = (FIRST_DESCRIPTOR_SECTOR + index) * SECTOR_SIZE;
      if (offset + SECTOR_SIZE > reader.fileSize) return false;
      const sector = await reader.read(offset, SECTOR_SIZE, 'volume descriptor');
      const header = parseDescriptorHeader(sector);
      if (!header.isStandard || header.type === DESCRIPTOR_TERMINATOR) return false;
      if (header.type === DESCRIPTOR_SUPPLEMENTARY && JOLIET_ESCAPES.has(sector.toString('latin1', 88, 91)))
        return true;
    }
    return false;
  });
}
