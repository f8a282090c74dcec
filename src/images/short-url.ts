import { isLowercaseUuid } from '../common/uuid.js';
import type { ImageType } from './image-type.js';

const FILENAME_TYPES: Readonly<Record<string, ImageType>> = {
  'full.iso': 'full-iso',
  'minimal.iso': 'minimal-iso',
  'disconnected.iso': 'disconnected-iso',
};

/** The image type a short URL's file name stands for (reference §7.2), or undefined. */
export function imageTypeOfFilename(filename: string): ImageType | undefined {
  return Object.hasOwn(FILENAME_TYPES, filename) ? FILENAME_TYPES[filename] : undefined;
}

/**
 * The infra-env id a JWT names: a UUID `sub`, else a UUID `infra_env_id`. The signature is not checked here —
 * assisted-service checks the token when it is passed on — so the id is user input and must be a UUID to be used.
 */
export function infraEnvIdFromToken(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined || parts[1].length > 16_384) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { sub, infra_env_id: infraEnvId } = payload as { sub?: unknown; infra_env_id?: unknown };
  return [sub, infraEnvId].find(isLowercaseUuid);
}
