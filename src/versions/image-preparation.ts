import type { IsoIndex } from '../iso/index.js';
import type { CatalogImage } from './os-image-catalog.js';

/** A base ISO on disk that passed validation. */
export interface VerifiedImage {
  readonly image: CatalogImage;
  readonly path: string;
  readonly sizeBytes: number;
  readonly mtime: Date;
  readonly index: IsoIndex;
}

/**
 * Work done once per cached image after its ISO is verified and before it is served (layout analysis,
 * minimal-ISO templates, nmstate extraction). A step that throws marks the image failed with its message.
 */
export interface ImagePreparationStep {
  readonly name: string;
  prepare(verified: VerifiedImage, signal: AbortSignal): Promise<void>;
  /** Files this step keeps in DATA_DIR for the image, so the start-up cleanup leaves them. */
  expectedFiles?(image: CatalogImage): readonly string[];
}

export const IMAGE_PREPARATION_STEPS = Symbol('IMAGE_PREPARATION_STEPS');
