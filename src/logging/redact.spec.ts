import { describe, expect, it } from '@jest/globals';
import { redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it.each([
    [
      'GET /images/x?version=4.18&api_key=abc123&type=full-iso',
      'GET /images/x?version=4.18&api_key=REDACTED&type=full-iso',
    ],
    ['?image_token=tok.en.value', '?image_token=REDACTED'],
    [
      '/bytoken/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln/4.18/x86_64/full.iso',
      '/bytoken/REDACTED/4.18/x86_64/full.iso',
    ],
    ['/byapikey/secretkey/4.18/x86_64/minimal.iso', '/byapikey/REDACTED/4.18/x86_64/minimal.iso'],
    ['/bytoken/:token/:version/:arch/:filename', '/bytoken/:token/:version/:arch/:filename'],
    ['Authorization: Bearer abc.def', 'Authorization: REDACTED'],
    ['{"authorization":"Basic dXNlcjpwYXNz"}', '{"authorization":"REDACTED"}'],
    ['image-token=xyz', 'image-token=REDACTED'],
    ['token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig in text', 'token REDACTED in text'],
    ['fetching https://user:pass@mirror.example.com/x.iso', 'fetching https://REDACTED@mirror.example.com/x.iso'],
    ['nothing secret here: version=4.18', 'nothing secret here: version=4.18'],
    // Every pattern is case-insensitive but the Bearer and JWT ones: the quick pre-check must let all of these through.
    ['GET /x?API_KEY=abc123', 'GET /x?API_KEY=REDACTED'],
    ['/BYAPIKEY/secretkey/4.18', '/BYAPIKEY/REDACTED/4.18'],
    ['/ByToken/secret/4.18', '/ByToken/REDACTED/4.18'],
    ['COOKIE: session=1', 'COOKIE: REDACTED'],
    ['X-Auth-Token: abc', 'X-Auth-Token: REDACTED'],
    ['Password=hunter2', 'Password=REDACTED'],
    ['HTTPS://u:p@host/x', 'HTTPS://REDACTED@host/x'],
    // Spellings Express decodes to a credential's name, and values that run past a `;` or `,` to the next `&`.
    ['GET /images/x?api%5Fkey=s3cret&version=4.18', 'GET /images/x?api%5Fkey=REDACTED&version=4.18'],
    ['?image%5ftoken=s3cret', '?image%5ftoken=REDACTED'],
    ['?%41PI%5fKEY=s3cret', '?%41PI%5fKEY=REDACTED'],
    ['?api_key%3Ds3cret', '?api_key%3DREDACTED'],
    ['?api_key=abc;s3cret&type=full-iso', '?api_key=REDACTED&type=full-iso'],
    ['?api_key=abc,s3cret', '?api_key=REDACTED'],
    ['?api_key=abc%20s3cret&x=1', '?api_key=REDACTED&x=1'],
    ['/by%74oken/s3cret/4.18/x86_64/full.iso', '/by%74oken/REDACTED/4.18/x86_64/full.iso'],
    ['/BY%41PIKEY%2Fs3cret/4.18', '/BY%41PIKEY%2FREDACTED/4.18'],
    ['/bytoken/abc%2Fs3cret/4.18', '/bytoken/REDACTED/4.18'],
    ['a 50% share of version%3D4.18', 'a 50% share of version%3D4.18'],
    ['mytoken=visible', 'mytoken=visible'],
  ])('%s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it('redacts configured literal secrets wherever they appear, ignoring values too short to be secrets', () => {
    expect(redactSecrets('header X-Token: s3cr3t-value and again s3cr3t-value', ['s3cr3t-value', 'ab'])).toBe(
      'header X-Token: REDACTED and again REDACTED',
    );
    expect(redactSecrets('label ab stays', ['ab'])).toBe('label ab stays');
    expect(redactSecrets('GET https://mirror/x.iso?sig=a%2Fb%3Dc', ['a/b=c'])).toBe(
      'GET https://mirror/x.iso?sig=REDACTED',
    );
  });
});
