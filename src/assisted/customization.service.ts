import { Inject, Injectable } from '@nestjs/common';
import { ServiceError } from '../common/service-error.js';
import { AssistedServiceConfig } from '../config/app-config.js';
import { RamdiskAreaError } from '../iso/index.js';
import { IgnitionTooLargeError } from '../iso/index.js';
import { CUSTOMIZATION_CACHE_OPTIONS, type CustomizationCacheOptions } from './assisted-client.options.js';
import { AssistedClient, type ImageType } from './assisted.client.js';
import { assertInfraEnvId } from './assisted-request.js';
import { credentialFingerprint, type Credential } from './credentials.js';
import { CustomizationCache } from './customization-cache.js';

/** What assisted-service says goes into one image. Buffers are shared between requests: read them, never write. */
export interface Customization {
  /** The Ignition as it goes into the image: gzip'd newc cpio of config.ign, padded to 4 (see ignition-payload.ts). */
  readonly ignitionPayload: Buffer;
  readonly lastModified?: Date;
  readonly ramdisk?: Buffer;
  readonly kernelArguments: string[];
}

/** What an image can take, which bounds what is fetched for it, and which calls it needs besides the Ignition. */
export interface CustomizationNeeds {
  /** Bytes of the image's Ignition area: the payload must fit, so the Ignition is not read past what could. */
  readonly ignitionAreaBytes: number;
  /** Bytes of the static network ramdisk's area, for images that take one (minimal ISO, PXE). */
  readonly ramdiskAreaBytes?: number;
  /** ISO types append the infra-env's kernel arguments; the PXE initrd does not. */
  readonly kernelArguments: boolean;
}

/** The ISO types, plus the PXE initrd (whose Ignition call sends no `discovery_iso_type`). */
export type CustomizedImageType = ImageType | 'pxe-initrd';

/**
 * The infra-env's content cannot fit the image (an Ignition larger than its area, a ramdisk larger than its area,
 * kernel arguments that do not fit or cannot be added): 400, and the same answer for the whole TTL.
 */
export class DoesNotFitError extends ServiceError {
  override name = 'DoesNotFitError';

  constructor(message: string) {
    super(400, message);
  }
}

/** Bookkeeping per entry on top of the buffers (key, dates, arrays), so tiny entries still count. */
const ENTRY_OVERHEAD_BYTES = 512;

export function customizationBytes(customization: Customization): number {
  const kargs = customization.kernelArguments.reduce((sum, argument) => sum + 2 * argument.length + 32, 0);
  return ENTRY_OVERHEAD_BYTES + customization.ignitionPayload.length + (customization.ramdisk?.length ?? 0) + kargs;
}

/**
 * Fetches an image's customisation from assisted-service and reuses it for CUSTOMIZATION_CACHE_TTL_SECONDS, per
 * (infra-env, image type, credential, what the image can take): a BMC reading an ISO as thousands of Range
 * requests costs one set of calls, and a request is never answered with what was fetched for a different
 * credential. Content that does not fit is remembered the same way; other failures are retried by the next request.
 */
@Injectable()
export class CustomizationService {
  private readonly cache: CustomizationCache<Customization>;
  private readonly maxBytes: number;

  constructor(
    @Inject(AssistedClient) private readonly client: AssistedClient,
    @Inject(AssistedServiceConfig) config: AssistedServiceConfig,
    @Inject(CUSTOMIZATION_CACHE_OPTIONS) options: CustomizationCacheOptions,
  ) {
    this.maxBytes = options.maxBytes;
    this.cache = new CustomizationCache<Customization>({
      ttlMs: config.customizationCacheTtlSeconds * 1000,
      maxEntries: options.maxEntries,
      maxBytes: options.maxBytes,
      now: options.now,
      sizeOf: customizationBytes,
      remembers: (error) => error instanceof DoesNotFitError,
    });
  }

  /** Entries and bytes the cache holds, derived values included, and its byte bound. */
  get usage(): { readonly entries: number; readonly bytes: number; readonly maxBytes: number } {
    return { entries: this.cache.size, bytes: this.cache.bytes, maxBytes: this.maxBytes };
  }

  /** Rejects with DoesNotFitError when the infra-env's content cannot fit what `needs` describes. */
  get(
    infraEnvId: string,
    imageType: CustomizedImageType,
    credential: Credential,
    needs: CustomizationNeeds,
    signal?: AbortSignal,
  ): Promise<Customization> {
    assertInfraEnvId(infraEnvId);
    const key = [
      infraEnvId,
      imageType,
      credentialFingerprint(credential),
      `ignition:${needs.ignitionAreaBytes}`,
      `ramdisk:${needs.ramdiskAreaBytes ?? '-'}`,
      needs.kernelArguments ? 'kargs' : '',
    ].join('|');
    return this.cache.get(key, (shared) => this.fetch(infraEnvId, imageType, credential, needs, shared), signal);
  }

  /**
   * Something computed from a customisation (a patched file per ISO layout), kept as long as the customisation is
   * cached and counted in the cache's byte bound. `slot` tells apart what is computed from the same customisation.
   */
  derive<T>(customization: Customization, slot: object, build: () => T, sizeOf: (derived: T) => number): T {
    return this.cache.derive(customization, slot, build, sizeOf);
  }

  /** The calls run in parallel; when one fails the others are abandoned rather than left running for nobody. */
  private async fetch(
    infraEnvId: string,
    imageType: CustomizedImageType,
    credential: Credential,
    needs: CustomizationNeeds,
    signal: AbortSignal,
  ): Promise<Customization> {
    const siblings = new AbortController();
    const combined = AbortSignal.any([signal, siblings.signal]);
    const isoType = imageType === 'pxe-initrd' ? undefined : imageType;
    const { ramdiskAreaBytes } = needs;
    try {
      const [ignition, ramdisk, kernelArguments] = await Promise.all([
        this.client.fetchIgnition(infraEnvId, credential, isoType, needs.ignitionAreaBytes, combined),
        ramdiskAreaBytes === undefined
          ? undefined
          : this.client.fetchMinimalInitrd(infraEnvId, credential, ramdiskAreaBytes, combined),
        needs.kernelArguments ? this.client.fetchKernelArguments(infraEnvId, credential, combined) : [],
      ]);
      return {
        ignitionPayload: ignition.payload,
        ...(ignition.lastModified && { lastModified: ignition.lastModified }),
        ...(ramdisk && { ramdisk }),
        kernelArguments,
      };
    } catch (error) {
      siblings.abort();
      if (error instanceof IgnitionTooLargeError || error instanceof RamdiskAreaError)
        throw new DoesNotFitError(error.message);
      throw error;
    }
  }
}
