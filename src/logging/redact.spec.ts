import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request } from 'express';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeRequest, redactSecrets } from './redact.js';

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

/**
 * A real Express router with the shapes of the service's routes: the description is taken when the response closes,
 * where the request log takes it, from what the router and the query parser made of a request sent byte for byte.
 */
let server: Server;
const described: ReturnType<typeof describeRequest>[] = [];

beforeAll(async () => {
  const app = express();
  app.use((request, response, next) => {
    response.once('close', () => described.push(describeRequest(request as Request)));
    next();
  });
  const answer = (_request: unknown, response: express.Response): void => void response.status(204).end();
  app.get('/images/:image_id', answer);
  app.get('/bytoken/:token/:version/:arch/:filename', answer);
  app.get('/byapikey/:api_key/:version/:arch/:filename', answer);
  app.get('/boot-artifacts/:artifact', answer);
  app.get('/odd/{:maybe}', answer);
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** Sends `target` exactly as written (no URL normalisation) and returns the description logged for it. */
async function descriptionOf(target: string): Promise<ReturnType<typeof describeRequest>> {
  const before = described.length;
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: target, agent: false }, (response) => {
      response.resume();
      response.once('end', resolve);
    });
    request.once('error', reject);
    request.end();
  });
  for (let tries = 0; described.length === before && tries < 200; tries++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  const result = described[before];
  if (result === undefined) throw new Error(`no description for ${target}`);
  return result;
}

const ID = '0b8a4d4e-3c3e-4f5a-9d1e-2f6c7a8b9c0d';

describe('describeRequest', () => {
  it.each([
    [
      `/images/${ID}?version=4.18&arch=x86_64&type=full-iso&api_key=s3cret`,
      `/images/${ID}`,
      'version=4.18&arch=x86_64&type=full-iso&api_key=REDACTED',
    ],
    [`/images/${ID}?version=4.18&api%5Fkey=s3cret`, `/images/${ID}`, 'version=4.18&api_key=REDACTED'],
    [`/images/${ID}?image%5ftoken=s3cret&version=4.18`, `/images/${ID}`, 'image_token=REDACTED&version=4.18'],
    [`/images/${ID}?version=4.18&api_key=abc;s3cret`, `/images/${ID}`, 'version=4.18&api_key=REDACTED'],
    [
      `/images/${ID}?API_KEY=s3cret&%41pi_key=s3cret&unknown=s3cret`,
      `/images/${ID}`,
      'API_KEY=REDACTED&Api_key=REDACTED&unknown=REDACTED',
    ],
    [
      `/images/${ID}?version=a&version=b&api_key=x&api_key=s3cret`,
      `/images/${ID}`,
      'version=a&version=b&api_key=REDACTED&api_key=REDACTED',
    ],
    [`/images/${ID}?version=4.18%20rc%26x`, `/images/${ID}`, 'version=4.18%20rc%26x'],
    [
      '/bytoken/s3cret/4.18/x86_64/full.iso?version=ignored',
      '/bytoken/REDACTED/4.18/x86_64/full.iso',
      'version=ignored',
    ],
    ['/ByToken/s3cret/4.18/x86_64/full.iso', '/bytoken/REDACTED/4.18/x86_64/full.iso', ''],
    ['/byapikey/s3cret%2Fmore/4.18/x86_64/minimal.iso', '/byapikey/REDACTED/4.18/x86_64/minimal.iso', ''],
    ['/boot-artifacts/rootfs?version=4.18&arch=arm64', '/boot-artifacts/rootfs', 'version=4.18&arch=arm64'],
  ])("%s: path %s, query %s (a matched route: the router's parameters)", async (target, path, query) => {
    const description = await descriptionOf(target);
    expect(description).toMatchObject({ method: 'GET', path, query });
    expect(description.route).not.toBe('unmatched');
    expect(description.text).toBe(`GET ${path}${query === '' ? '' : `?${query}`}`);
    expect(JSON.stringify(description)).not.toContain('s3cret');
  });

  it.each([
    ['/by%74oken/s3cret/4.18/x86_64/full.iso', '/bytoken/REDACTED/4.18/x86_64/full.iso'],
    ['/bytoken/s3cret', '/bytoken/REDACTED'],
    ['/BYAPIKEY/s3cret/4.18', '/BYAPIKEY/REDACTED/4.18'],
    ['/by%2561pikey/s3cret/x', '/byapikey/REDACTED/x'],
    ['/bytoken%2Fs3cret/x', '/bytoken/REDACTED/x'],
    ['//bytoken/s3cret/4.18/x86_64/full.iso/extra', '//bytoken/REDACTED/4.18/x86_64/full.iso/extra'],
    ['/some/%E2%9C%93/%ZZ', '/some/✓/%ZZ'],
  ])(
    "%s: path %s (no route matched: the client's path, decoded, credential segments redacted)",
    async (target, path) => {
      const description = await descriptionOf(target);
      expect(description).toMatchObject({ route: 'unmatched', path, query: '' });
      expect(JSON.stringify(description)).not.toContain('s3cret');
    },
  );

  it('rebuilds the path from the client for a route template with more than parameters, still redacting', async () => {
    const description = await descriptionOf('/odd/x?token=s3cret');
    expect(description).toMatchObject({ route: '/odd/{:maybe}', path: '/odd/x', query: 'token=REDACTED' });
  });

  it('bounds what the client controls: long values, many segments, many parameters', async () => {
    const many = Array.from({ length: 40 }, (_, n) => `p${n}=v`).join('&');
    const description = await descriptionOf(
      `/${'x'.repeat(500)}/${'a/'.repeat(50)}?version=${'9'.repeat(500)}&${many}`,
    );
    expect(description.path.length).toBeLessThan(300);
    expect(description.path.endsWith('/…')).toBe(true);
    expect(description.query).toContain(`version=${'9'.repeat(128)}…`);
    expect(description.query.endsWith('&…25 more')).toBe(true);
    // A cut through a surrogate pair would leave a character that cannot be percent-encoded.
    const cutThroughEmoji = await descriptionOf(`/images/${ID}?version=${'9'.repeat(127)}%F0%9F%98%80tail`);
    expect(cutThroughEmoji.query).toBe(`version=${'9'.repeat(127)}…`);
  });
});
