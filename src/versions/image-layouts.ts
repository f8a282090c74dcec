import { Injectable } from '@nestjs/common';
import { analyzeLiveIso, type LiveIsoLayout } from '../iso/index.js';
import type { ImagePreparationStep, VerifiedImage } from './image-preparation.js';
import type { CatalogImage } from './os-image-catalog.js';

/** Preparation step: reads each verified base ISO's layout once, for every request to reuse. */
@Injectable()
export class ImageLayouts implements ImagePreparationStep {
  readonly name = 'reading the ISO layout';
  private readonly layouts = new Map<string, LiveIsoLayout>();

  async prepare(verified: VerifiedImage): Promise<void> {
    const layout = await analyzeLiveIso(
      verified.path,
      verified.sizeBytes,
      verified.index,
      verified.image.entry.cpuArchitecture,
    );
    this.layouts.set(verified.image.key, layout);
  }

  get(image: CatalogImage): LiveIsoLayout | undefined {
    return this.layouts.get(image.key);
  }
}
