import { createHmac, randomBytes } from 'node:crypto';

/** The credential a download request carries, passed through to assisted-service (see docs/assisted-service.md). */
export type Credential =
  | { readonly kind: 'api-key'; readonly value: string } // -> `api_key` query parameter
  | { readonly kind: 'image-token'; readonly value: string } // -> `Image-Token` header
  | { readonly kind: 'authorization'; readonly value: string } // -> `Authorization` header, passed verbatim
  | { readonly kind: 'none' };

/**
 * The credential of a download request, from its query, the path of a short URL (`/byapikey/{api_key}/…`,
 * `/bytoken/{token}/…`) or its Authorization header; the first present wins (see docs/assisted-service.md).
 */
export function resolveCredential(
  query: { readonly api_key?: string; readonly image_token?: string },
  request: { readonly headers: { readonly authorization?: string } },
  path?: { readonly api_key?: string; readonly token?: string },
): Credential {
  // `||`: an empty value counts as absent, so an empty `?api_key=` does not shadow a token.
  const apiKey = path?.api_key || query.api_key;
  if (apiKey) return { kind: 'api-key', value: apiKey };
  const imageToken = path?.token || query.image_token;
  if (imageToken) return { kind: 'image-token', value: imageToken };
  const { authorization } = request.headers;
  if (authorization) return { kind: 'authorization', value: authorization };
  return { kind: 'none' };
}

/** A fresh key per process, never stored: a fingerprint cannot be brute-forced back into a short credential offline. */
const FINGERPRINT_KEY = randomBytes(32);

/** A stable, irreversible identifier of a credential for cache keys; distinct kinds with equal values differ. */
export function credentialFingerprint(credential: Credential): string {
  const material = credential.kind === 'none' ? 'none' : `${credential.kind}\0${credential.value}`;
  return createHmac('sha256', FINGERPRINT_KEY).update(material).digest('hex');
}
