import { isLowercaseUuid } from '../common/uuid.js';
import { InvalidCredentialError, InvalidInfraEnvIdError } from './assisted.errors.js';
import type { Credential } from './credentials.js';

const INFRA_ENVS_PATH = '/api/assisted-install/v2/infra-envs/';

/** What a header value may hold: printable ASCII, space and tab (no control characters, nothing to re-encode). */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/** One of the three calls of reference §8. */
export interface UpstreamCall {
  /** Short name for metrics: `ignition`, `minimal-initrd` or `infra-env`. */
  readonly name: 'ignition' | 'minimal-initrd' | 'infra-env';
  /** What was being fetched, for messages: "the discovery Ignition". */
  readonly what: string;
  /** Path after the infra-env id, e.g. `/downloads/minimal-initrd`; empty for the infra-env itself. */
  readonly suffix: string;
  readonly query: Readonly<Record<string, string>>;
}

export interface BuiltRequest {
  readonly url: string;
  /** The path alone, without the query string (which may hold `api_key`): the only form that is logged. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Throws unless `id` is a lowercase UUID: an id never shapes an upstream path unless it is one. */
export function assertInfraEnvId(id: string): void {
  if (!isLowercaseUuid(id)) throw new InvalidInfraEnvIdError();
}

/** The URL and headers of `call` for one infra-env, with the credential placed as reference §8 says. */
export function buildRequest(
  baseUrl: string,
  infraEnvId: string,
  call: UpstreamCall,
  credential: Credential,
): BuiltRequest {
  assertInfraEnvId(infraEnvId);
  const url = new URL(`${baseUrl}${INFRA_ENVS_PATH}${encodeURIComponent(infraEnvId)}${call.suffix}`);
  for (const [name, value] of Object.entries(call.query)) url.searchParams.set(name, value);
  const headers: Record<string, string> = { accept: 'application/json, application/octet-stream, */*' };
  switch (credential.kind) {
    case 'api-key':
      url.searchParams.set('api_key', credential.value);
      break;
    case 'image-token':
      headers['image-token'] = headerValue(credential.value, 'image token');
      break;
    case 'authorization':
      headers.authorization = headerValue(credential.value, 'Authorization header');
      break;
    case 'none':
      break;
  }
  return { url: url.href, path: url.pathname, headers };
}

function headerValue(value: string, what: string): string {
  if (!HEADER_VALUE.test(value)) throw new InvalidCredentialError(what);
  return value;
}

export const IGNITION_CALL = (isoType: string | undefined): UpstreamCall => ({
  name: 'ignition',
  what: 'the discovery Ignition',
  suffix: '/downloads/files',
  query: { file_name: 'discovery.ign', ...(isoType !== undefined && { discovery_iso_type: isoType }) },
});

export const MINIMAL_INITRD_CALL: UpstreamCall = {
  name: 'minimal-initrd',
  what: 'the minimal initrd',
  suffix: '/downloads/minimal-initrd',
  query: {},
};

export const INFRA_ENV_CALL: UpstreamCall = { name: 'infra-env', what: 'the infra-env', suffix: '', query: {} };
