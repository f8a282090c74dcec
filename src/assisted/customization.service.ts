import { Inject, Injectable } from '@nestjs/common';
import { isLowercaseUuid } from '../common/service-error.js';
import type { ImageType } from '../config/catalog.js';
import { IgnitionTooLargeError, RamdiskAreaError } from '../iso/index.js';
import { AssistedClient } from './assisted.client.js';
import { DoesNotFitError, InvalidInfraEnvIdError } from './assisted.errors.js';
import { credentialFingerprint, type Credential } from './credentials.js';
import { CustomizationCache, type Build, type Customization, type SizeOf } from './customization-cache.js';

export type { Customization } from './customization-cache.js';

/** What an image can take, which bounds what is fetched for it. */
export interface CustomizationNeeds {
  readonly ignitionAreaBytes: number;
  /** For images that take a static network ramdisk (minimal ISO, PXE). */
  readonly ramdiskAreaBytes?: number;
  /** ISOs append the infra-env's kernel arguments; the PXE initrd has nowhere to put them. */
  readonly kernelArguments: boolean;
}

/** The PXE initrd's Ignition call sends no `discovery_iso_type`. */
export type CustomizedImageType = ImageType | 'pxe-initrd';

/** An image's customisation from assisted-service, through the cache (see docs/assisted-service.md, "Reuse"). */
@Injectable()
export class CustomizationService {
  constructor(
    @Inject(AssistedClient) private readonly client: AssistedClient,
    @Inject(CustomizationCache) private readonly cache: CustomizationCache,
  ) {}

  /** Rejects with DoesNotFitError when the infra-env's content cannot fit what `needs` describes. */
  get(
    infraEnvId: string,
    imageType: CustomizedImageType,
    credential: Credential,
    needs: CustomizationNeeds,
    signal?: AbortSignal,
  ): Promise<Customization> {
    if (!isLowercaseUuid(infraEnvId)) return Promise.reject(new InvalidInfraEnvIdError());
    const { ignitionAreaBytes, ramdiskAreaBytes, kernelArguments } = needs;
    const fingerprint = credentialFingerprint(credential);
    const key = `${infraEnvId}|${imageType}|${fingerprint}|${ignitionAreaBytes}|${ramdiskAreaBytes}|${kernelArguments}`;
    return this.cache.get(key, (shared) => this.fetch(infraEnvId, imageType, credential, needs, shared), signal);
  }

  /** See CustomizationCache.isCurrent. */
  isCurrent(customization: Customization): boolean {
    return this.cache.isCurrent(customization);
  }

  /** See CustomizationCache.derive. */
  derive<S extends object, T>(customization: Customization, slot: S, build: Build<S, T>, sizeOf: SizeOf<T>): T {
    return this.cache.derive(customization, slot, build, sizeOf);
  }

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
    const { ignitionAreaBytes, ramdiskAreaBytes } = needs;
    try {
      const [ignition, ramdisk, kernelArguments] = await Promise.all([
        this.client.fetchIgnition(infraEnvId, credential, isoType, ignitionAreaBytes, combined),
        ramdiskAreaBytes === undefined
          ? undefined
          : this.client.fetchMinimalInitrd(infraEnvId, credential, ramdiskAreaBytes, combined),
        needs.kernelArguments ? this.client.fetchKernelArguments(infraEnvId, credential, combined) : [],
      ]);
      const { payload: ignitionPayload, lastModified } = ignition;
      return { ignitionPayload, ...(lastModified && { lastModified }), ...(ramdisk && { ramdisk }), kernelArguments };
    } catch (error) {
      // The others are abandoned rather than left running for nobody.
      siblings.abort();
      if (error instanceof IgnitionTooLargeError || error instanceof RamdiskAreaError)
        throw new DoesNotFitError(error.message);
      throw error;
    }
  }
}
