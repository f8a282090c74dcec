import { describe, expect, it } from '@jest/globals';
import { credentialFingerprint, resolveCredential, type Credential } from './credentials.js';

interface Sources {
  readonly pathApiKey?: string;
  readonly queryApiKey?: string;
  readonly pathToken?: string;
  readonly queryImageToken?: string;
  readonly authorizationHeader?: string;
}

describe('resolveCredential precedence', () => {
  const all = {
    pathApiKey: 'path-key',
    queryApiKey: 'query-key',
    pathToken: 'path-token',
    queryImageToken: 'query-token',
    authorizationHeader: 'Bearer abc',
  };

  it.each([
    ['path api key beats everything', all, { kind: 'api-key', value: 'path-key' }],
    ['query api key beats tokens', { ...all, pathApiKey: undefined }, { kind: 'api-key', value: 'query-key' }],
    [
      'path token beats query token',
      { pathToken: 'path-token', queryImageToken: 'query-token', authorizationHeader: 'Bearer abc' },
      { kind: 'image-token', value: 'path-token' },
    ],
    [
      'query token beats Authorization',
      { queryImageToken: 'query-token', authorizationHeader: 'Bearer abc' },
      { kind: 'image-token', value: 'query-token' },
    ],
    [
      'Authorization passed verbatim',
      { authorizationHeader: 'Bearer abc' },
      { kind: 'authorization', value: 'Bearer abc' },
    ],
    ['nothing', {}, { kind: 'none' }],
    [
      'empty values count as absent',
      { queryApiKey: '', queryImageToken: '', authorizationHeader: 'Basic xyz' },
      { kind: 'authorization', value: 'Basic xyz' },
    ],
  ])('%s', (_name, input: Sources, expected) => {
    const query = { api_key: input.queryApiKey, image_token: input.queryImageToken };
    const path = { api_key: input.pathApiKey, token: input.pathToken };
    expect(resolveCredential(query, { headers: { authorization: input.authorizationHeader } }, path)).toEqual(expected);
  });
});

describe('credentialFingerprint', () => {
  it('is a hex HMAC that is stable per credential and does not contain the credential', () => {
    const credential: Credential = { kind: 'api-key', value: 'secret-api-key-1234' };
    const fingerprint = credentialFingerprint(credential);
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(credentialFingerprint({ kind: 'api-key', value: 'secret-api-key-1234' })).toBe(fingerprint);
    expect(fingerprint).not.toContain('secret');
  });

  it('differs between values, and between kinds with the same value', () => {
    const fingerprints = new Set([
      credentialFingerprint({ kind: 'api-key', value: 'same' }),
      credentialFingerprint({ kind: 'image-token', value: 'same' }),
      credentialFingerprint({ kind: 'authorization', value: 'same' }),
      credentialFingerprint({ kind: 'api-key', value: 'other' }),
      credentialFingerprint({ kind: 'none' }),
    ]);
    expect(fingerprints.size).toBe(5);
  });
});
