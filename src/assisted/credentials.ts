import { createHmac, randomBytes } from 'node:crypto';

/** The credential a download request carries, passed through to assisted-service (see docs/assisted-service.md). */
export type Credential =
  | { readonly kind: 'api-key'; readonly value: string } // -> `api_key` query parameter
  | { readonly kind: 'image-token'; readonly value: string } // -> `Image-Token` header
  | { readonly kind: 'authorization'; readonly value: string } // -> `Authorization` header, passed verbatim
  | { readonly kind: 'none' };

export interface CredentialSources {
  /** The `{api_key}` segment of `/byapikey/...`. */
  readonly pathApiKey?: string;
  readonly queryApiKey?: string;
  /** The `{token}` segment of `/bytoken/...`. */
  readonly pathToken?: string;
  readonly queryImageToken?: string;
  readonly authorizationHeader?: string;
}

/**
 * First match wins: an api key (path, then query), an image token (path, then query), the Authorization header.
 * An empty value counts as absent, since `?api_key=` would otherwise shadow a real token.
 */
export function resolveCredential(input: CredentialSources): Credential {
  const apiKey = firstPresent(input.pathApiKey, input.queryApiKey);
  if (apiKey !== undefined) return { kind: 'api-key', value: apiKey };
  const imageToken = firstPresent(input.pathToken, input.queryImageToken);
  if (imageToken !== undefined) return { kind: 'image-token', value: imageToken };
  const authorization = firstPresent(input.authorizationHeader);
  if (authorization !== undefined) return { kind: 'authorization', value: authorization };
  return { kind: 'none' };
}

function firstPresent(...values: (string | undefined)[]): string | undefined {
  return values.find((value) => value !== undefined && value !== '');
}

/** A fresh key per process, never stored: a fingerprint cannot be brute-forced back into a short credential offline. */
const FINGERPRINT_KEY = randomBytes(32);

/** A stable, irreversible identifier of a credential for cache keys; distinct kinds with equal values differ. */
export function credentialFingerprint(credential: Credential): string {
  const material = credential.kind === 'none' ? 'none' : `${credential.kind}\0${credential.value}`;
  return createHmac('sha256', FINGERPRINT_KEY).update(material).digest('hex');
}
