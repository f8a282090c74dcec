import 'reflect-metadata';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, ServiceUnavailableException, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JsonLogger } from '../logging/json-logger.js';
import { AllExceptionsFilter } from './all-exceptions.filter.js';

/** A route that fails the way a bug does: with an error no layer of the service turned into an answer. */
@Controller()
class FailingController {
  @Get('bytoken/:token/:version')
  fail(): never {
    throw new TypeError('something was undefined');
  }

  /** A deliberate 503, as the readiness probe answers while the cache syncs. */
  @Get('not-yet')
  notYet(): never {
    throw new ServiceUnavailableException({ status: 'error', details: { images: 'syncing' } });
  }
}

let app: INestApplication;
let port: number;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const module = await Test.createTestingModule({
    controllers: [FailingController],
    providers: [
      {
        provide: JsonLogger,
        useValue: new JsonLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
      },
      { provide: APP_FILTER, useClass: AllExceptionsFilter },
    ],
  }).compile();
  app = module.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  port = (app.getHttpServer() as { address(): AddressInfo }).address().port;
});

afterAll(async () => {
  await app.close();
});

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.once('error', reject);
    request.end();
  });
}

describe('AllExceptionsFilter', () => {
  it('answers an unexpected error with a JSON 500 and logs it once, naming the request without its credentials', async () => {
    const response = await get(
      '/bytoken/path-s3cret/4.18?version=4.18&api%5Fkey=query-s3cret&image_token=a;other-s3cret',
    );
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body)).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'internal error: the failure was logged',
    });
    const errors = lines.filter((line) => line.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      context: 'AllExceptionsFilter',
      msg: 'GET /bytoken/REDACTED/4.18?version=4.18&api_key=REDACTED&image_token=REDACTED failed: TypeError: something was undefined',
      stack: expect.stringContaining('FailingController.fail'),
    });
    expect(JSON.stringify(lines)).not.toMatch(/s3cret/);
  });

  it('answers a deliberate 503 with its own body and logs no error: a readiness probe during a sync is not a failure', async () => {
    const before = lines.length;
    const response = await get('/not-yet');
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body)).toEqual({ status: 'error', details: { images: 'syncing' } });
    expect(lines.slice(before).filter((line) => line.level === 'error')).toEqual([]);
  });
});
