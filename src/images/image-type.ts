import type { BaseImageType } from '../versions/os-image.js';

export const IMAGE_TYPES = ['full-iso', 'minimal-iso', 'disconnected-iso'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

/** The cached base a download starts from: minimal ISOs are built from the full ISO. */
export function baseTypeOf(type: ImageType): BaseImageType {
  return type === 'disconnected-iso' ? 'disconnected-iso' : 'full-iso';
}
