import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request } from 'express';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeRequest, type RequestDescription } from './request-description.js';

/**
 * A real Express router with the shapes of the service's routes: the description is taken when the response closes,
 * where the request log takes it, from what the router and the query parser made of a request sent byte for byte.
 */
let server: Server;
const described: RequestDescription[] = [];

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
async function descriptionOf(target: string): Promise<RequestDescription> {
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
