/** CPU architectures a catalog entry or a request may name, in their canonical spelling. */
export const CPU_ARCHITECTURES = ['x86_64', 'arm64', 'ppc64le', 's390x'] as const;
export type CpuArchitecture = (typeof CPU_ARCHITECTURES)[number];

const ARCH_ALIASES: Readonly<Record<string, CpuArchitecture>> = {
  x86_64: 'x86_64',
  amd64: 'x86_64',
  arm64: 'arm64',
  aarch64: 'arm64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
};

/** Canonical architecture for a name or alias (`amd64` → `x86_64`, `aarch64` → `arm64`), else undefined. */
export function normalizeArchitecture(name: string): CpuArchitecture | undefined {
  return Object.hasOwn(ARCH_ALIASES, name) ? ARCH_ALIASES[name] : undefined;
}

/** Kinds of base image the catalog can list; `minimal-iso` is derived from `full-iso` at sync. */
export const BASE_IMAGE_TYPES = ['full-iso', 'disconnected-iso'] as const;
export type BaseImageType = (typeof BASE_IMAGE_TYPES)[number];

/** One catalog entry, validated and normalised. */
export interface OsImageEntry {
  readonly openshiftVersion: string;
  readonly cpuArchitecture: CpuArchitecture;
  readonly url: string;
  /** The RHCOS version, e.g. `414.92.202310170514-0`. */
  readonly version: string;
  readonly type: BaseImageType;
  readonly rootfsUrl?: string;
  /** Lowercase hex SHA-256 of the ISO, verified after download when present. */
  readonly sha256?: string;
}
