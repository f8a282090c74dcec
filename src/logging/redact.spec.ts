import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it.each([
    ['GET /images/x?version=4.18&api_key=abc123&type=full-iso', 'GET /images/x?version=4.18&api_key=REDACTED&type=full-iso'],
    ['?image_token=tok.en.value', '?image_token=REDACTED'],
    ['/bytoken/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln/4.18/x86_64/full.iso', '/bytoken/REDACTED/4.18/x86_64/full.iso'],
    ['/byapikey/secretkey/4.18/x86_64/minimal.iso', '/byapikey/REDACTED/4.18/x86_64/minimal.iso'],
    ['/bytoken/:token/:version/:arch/:filename', '/bytoken/:token/:version/:arch/:filename'],
    ['Authorization: Bearer abc.def', 'Authorization: REDACTED'],
    ['{"authorization":"Basic dXNlcjpwYXNz"}', '{"authorization":"REDACTED"}'],
    ['image-token=xyz', 'image-token=REDACTED'],
    ['token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig in text', 'token REDACTED in text'],
    ['fetching https://user:pass@mirror.example.com/x.iso', 'fetching https://REDACTED@mirror.example.com/x.iso'],
    ['nothing secret here: version=4.18', 'nothing secret here: version=4.18'],
  ])('%s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it('redacts configured literal secrets wherever they appear, ignoring values too short to be secrets', () => {
    expect(redactSecrets('header X-Token: s3cr3t-value and again s3cr3t-value', ['s3cr3t-value', 'ab'])).toBe('header X-Token: REDACTED and again REDACTED');
    expect(redactSecrets('label ab stays', ['ab'])).toBe('label ab stays');
  });
});
