import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Global, Module, Param, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JsonLogger } from '../logging/json-logger.js';
import { HTTP_REQUEST_DURATION, HTTP_RESPONSE_SIZE, HttpObserver, MetricsModule } from './metrics.module.js';

@Controller()
class ImagesStandIn {
  @Get('images/:image_id')
  image(@Param('image_id') id: string): string {
    return `image ${id}`;
  }
}

const lines: Record<string, unknown>[] = [];

/** The logger the observer writes its request line to, capturing the lines. */
@Global()
@Module({
  providers: [
    {
      provide: JsonLogger,
      useValue: new JsonLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
    },
  ],
  exports: [JsonLogger],
})
class CapturedLogging {}

let app: INestApplication;
let base: string;

beforeAll(async () => {
  const module = await Test.createTestingModule({
    imports: [CapturedLogging, MetricsModule],
    controllers: [ImagesStandIn],
  }).compile();
  app = module.createNestApplication({ logger: false });
  app.use(app.get(HttpObserver).middleware);
  await app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(app.getHttpServer() as { address(): AddressInfo }).address().port}`;
});

afterAll(async () => {
  await app.close();
});

async function metrics(): Promise<string> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return response.text();
}

describe('MetricsController', () => {
  it('serves the process metrics and counts its own request in flight', async () => {
    const text = await metrics();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^assisted_image_service_http_requests_inflight\{method="GET",group="metrics"\} 1$/m);
  });
});

describe('HttpObserver', () => {
  it('times and sizes a request by route template and status, and logs it once it ended', async () => {
    const response = await fetch(`${base}/images/0b8a4d4e?api_key=s3cret`);
    expect(await response.text()).toBe('image 0b8a4d4e');
    const text = await metrics();
    const labels = '{method="GET",handler="/images/:image_id",code="200"}';
    expect(text).toContain(`${HTTP_REQUEST_DURATION}_count${labels} 1`);
    expect(text).toContain(`${HTTP_RESPONSE_SIZE}_sum${labels} ${'image 0b8a4d4e'.length}`);
    expect(lines.find((line) => line.context === 'HttpRequest' && line.route === '/images/:image_id')).toMatchObject({
      level: 'info',
      msg: 'GET /images/:image_id 200',
      path: '/images/0b8a4d4e',
      query: 'api_key=REDACTED',
      status: 200,
      bytes: 'image 0b8a4d4e'.length,
      aborted: false,
    });
  });

  it('labels a request no route matched as unmatched, in the group "other"', async () => {
    expect((await fetch(`${base}/nowhere/at/all`)).status).toBe(404);
    const text = await metrics();
    expect(text).toContain(`${HTTP_REQUEST_DURATION}_count{method="GET",handler="unmatched",code="404"} 1`);
    expect(text).toMatch(/^assisted_image_service_http_requests_inflight\{method="GET",group="other"\} 0$/m);
  });
});
