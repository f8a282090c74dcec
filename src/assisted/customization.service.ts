import { Inject, Injectable } from '@nestjs/common';
import { AssistedServiceConfig } from '../config/app-config.js';
import { CUSTOMIZATION_CACHE_OPTIONS, type CustomizationCacheOptions } from './assisted-client.options.js';
import { AssistedClient, type ImageType } from './assisted.client.js';
import { assertInfraEnvId } from './assisted-request.js';
import { credentialFingerprint, type Credential } from './credentials.js';
import { CustomizationCache } from './customization-cache.js';

/** What assisted-service says goes into one image. Buffers are shared between requests: read them, never write. */
export interface Customization {
  readonly ignition: Buffer;
  readonly lastModified?: Date;
  readonly ramdisk?: Buffer;
  readonly kernelArguments: string[];
}

/** Which calls an image needs besides the Ignition: ISO types need kargs, the minimal ISO and PXE the ramdisk. */
export interface CustomizationNeeds {
  readonly ramdisk: boolean;
  readonly kernelArguments: boolean;
}

/** The ISO types, plus the PXE initrd (whose Ignition call sends no `discovery_iso_type`). */
export type CustomizedImageType = ImageType | 'pxe-initrd';

/** Bookkeeping per entry on top of the buffers (key, dates, arrays), so tiny entries still count. */
const ENTRY_OVERHEAD_BYTES = 512;

export function customizationBytes(customization: Customization): number {
  const kargs = customization.kernelArguments.reduce((sum, argument) => sum + 2 * argument.length + 32, 0);
  return ENTRY_OVERHEAD_BYTES + customization.ignition.length + (customization.ramdisk?.length ?? 0) + kargs;
}

/**
 * Fetches an image's customisation from assisted-service and reuses it for CUSTOMIZATION_CACHE_TTL_SECONDS, per
 * (infra-env, image type, credential): a BMC reading an ISO as thousands of Range requests costs one set of calls,
 * and a request is never answered with what was fetched for a different credential.
 */
@Injectable()
export class CustomizationService {
  private readonly cache: CustomizationCache<Customization>;

  constructor(
    @Inject(AssistedClient) private readonly client: AssistedClient,
    @Inject(AssistedServiceConfig) config: AssistedServiceConfig,
    @Inject(CUSTOMIZATION_CACHE_OPTIONS) options: CustomizationCacheOptions,
  ) {
    this.cache = new CustomizationCache<Customization>({
      ttlMs: config.customizationCacheTtlSeconds * 1000,
      maxEntries: options.maxEntries,
      maxBytes: options.maxBytes,
      now: options.now,
      sizeOf: customizationBytes,
    });
  }

  get(
    infraEnvId: string,
    imageType: CustomizedImageType,
    credential: Credential,
    needs: CustomizationNeeds,
    signal?: AbortSignal,
  ): Promise<Customization> {
    assertInfraEnvId(infraEnvId);
    const key = [infraEnvId, imageType, credentialFingerprint(credential), needs.ramdisk ? 'ramdisk' : '', needs.kernelArguments ? 'kargs' : ''].join('|');
    return this.cache.get(key, (shared) => this.fetch(infraEnvId, imageType, credential, needs, shared), signal);
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
    try {
      const [ignition, ramdisk, kernelArguments] = await Promise.all([
        this.client.fetchIgnition(infraEnvId, credential, isoType, combined),
        needs.ramdisk ? this.client.fetchMinimalInitrd(infraEnvId, credential, combined) : undefined,
        needs.kernelArguments ? this.client.fetchKernelArguments(infraEnvId, credential, combined) : [],
      ]);
      return { ...ignition, ...(ramdisk && { ramdisk }), kernelArguments };
    } catch (error) {
      siblings.abort();
      throw error;
    }
  }
}
