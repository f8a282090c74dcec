import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import { Registry } from 'prom-client';
import { ServerConfig } from '../config/app-config.js';
import { VirtualFile } from '../iso/index.js';
import { JsonLogger } from '../logging/json-logger.js';
import {
  FAST_LANE_ANSWERS,
  HttpObserver,
  counterProvider,
  registryProvider,
  type RequestDescription,
} from '../metrics/metrics.module.js';
import { DownloadWriter, RequestSlots } from './download-writer.js';
import { FastLane } from './fast-lane.js';
import type { Download, ResponsePlan } from './response-plan.js';

const ID = '5d0c2f0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f';
const URL_PATH = `/images/${ID}?version=4.18`;
const FILE = VirtualFile.concat([{ kind: 'bytes', data: Buffer.alloc(1000, 7) }]);

class FakeSlots {
  free = 4;
  released = 0;

  tryAcquire(): (() => void) | undefined {
    if (this.free === 0) return undefined;
    this.free -= 1;
    return () => {
      this.free += 1;
      this.released += 1;
    };
  }
}

class FakeWriter {
  readonly plans: ResponsePlan[] = [];

  write(_response: ServerResponse, _file: VirtualFile, plan: ResponsePlan): void {
    this.plans.push(plan);
  }
}

class FakeObserver {
  readonly tracked: { group: string; description: RequestDescription }[] = [];

  track(_request: IncomingMessage, _response: ServerResponse, group: string, describe: () => RequestDescription): void {
    this.tracked.push({ group, description: describe() });
  }
}

/** The Express request the application answered, as the router left it. */
function answered(headers: Record<string, string> = {}): Request {
  const request = new IncomingMessage(new Socket()) as Request;
  Object.assign(request, {
    method: 'GET',
    url: URL_PATH,
    originalUrl: URL_PATH,
    path: `/images/${ID}`,
    baseUrl: '',
    route: { path: '/images/:image_id' },
    params: { image_id: ID },
    query: { version: '4.18' },
    headers,
  });
  return request;
}

/** A request as Node hands it over, with its response at the head of its connection unless `pipelined`. */
function incoming(method: string, headers: Record<string, string> = {}, pipelined = false) {
  const socket = new Socket();
  const request = new IncomingMessage(socket);
  Object.assign(request, { method, url: URL_PATH, headers });
  const response = new ServerResponse(request);
  if (!pipelined) response.assignSocket(socket);
  return { request, response };
}

/** True when the lane took a fresh request of `method`. */
function takes(lane: FastLane, method: string, headers: Record<string, string> = {}): boolean {
  const { request, response } = incoming(method, headers);
  return lane.tryServe(request, response);
}

function download(stillCurrent?: () => boolean): Download {
  return { file: FILE, filename: 'x.iso', ...(stillCurrent && { stillCurrent }) };
}

async function laneWith(allowedDomains: string[] = []) {
  const slots = new FakeSlots();
  const writer = new FakeWriter();
  const observer = new FakeObserver();
  const server = new ServerConfig(0, undefined, undefined, allowedDomains, 1, 1, 1, 120, undefined);
  const module = await Test.createTestingModule({
    providers: [
      FastLane,
      registryProvider,
      counterProvider({ name: FAST_LANE_ANSWERS, help: 'answers' }),
      { provide: RequestSlots, useValue: slots },
      { provide: DownloadWriter, useValue: writer },
      { provide: HttpObserver, useValue: observer },
      { provide: JsonLogger, useValue: new JsonLogger('error', () => undefined) },
      { provide: ServerConfig, useValue: server },
    ],
  }).compile();
  const registry = module.get(Registry);
  const answers = async (): Promise<number> =>
    (await registry.getSingleMetric(FAST_LANE_ANSWERS)?.get())?.values[0]?.value ?? 0;
  return { lane: module.get(FastLane), slots, writer, observer, answers };
}

describe('FastLane', () => {
  let current: boolean;

  beforeEach(() => {
    current = true;
  });

  it('answers a request the application answered, with its description, a slot and the planned range', async () => {
    const { lane, slots, writer, observer, answers } = await laneWith();
    expect(lane.tryServe(incoming('GET').request, incoming('GET').response)).toBe(false);
    lane.remember(
      answered(),
      download(() => current),
    );
    const { request, response } = incoming('GET', { range: 'bytes=10-19' });
    expect(lane.tryServe(request, response)).toBe(true);
    expect(writer.plans[0]).toMatchObject({ status: 206, range: { start: 10, end: 19 } });
    expect(observer.tracked).toEqual([
      { group: 'images', description: expect.objectContaining({ route: '/images/:image_id', query: 'version=4.18' }) },
    ]);
    expect(await answers()).toBe(1);
    expect(slots.free).toBe(3);
    response.emit('close');
    expect(slots.released).toBe(1);
  });

  it('answers HEAD and 304 too, and never other methods', async () => {
    const { lane, writer } = await laneWith();
    lane.remember(answered(), { ...download(() => current), lastModified: new Date('2026-01-01T00:00:00Z') });
    expect(takes(lane, 'HEAD')).toBe(true);
    expect(takes(lane, 'GET', { 'if-modified-since': 'Fri, 02 Jan 2026 00:00:00 GMT' })).toBe(true);
    expect(writer.plans.map((plan) => plan.status)).toEqual([200, 304]);
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) expect(takes(lane, method)).toBe(false);
  });

  it('keys on the Authorization header: another credential goes to the application', async () => {
    const { lane } = await laneWith();
    lane.remember(
      answered({ authorization: 'Bearer one' }),
      download(() => current),
    );
    const other = incoming('GET', { authorization: 'Bearer two' });
    const none = incoming('GET');
    const same = incoming('GET', { authorization: 'Bearer one' });
    expect(lane.tryServe(other.request, other.response)).toBe(false);
    expect(lane.tryServe(none.request, none.response)).toBe(false);
    expect(lane.tryServe(same.request, same.response)).toBe(true);
  });

  it('leaves to the application: pipelined requests, CORS requests, 416, and any moment without a free slot', async () => {
    const { lane, slots } = await laneWith(['console.example.com']);
    lane.remember(
      answered(),
      download(() => current),
    );
    const pipelined = incoming('GET', {}, true);
    const cors = incoming('GET', { origin: 'https://console.example.com' });
    const unsatisfiable = incoming('GET', { range: 'bytes=5000-' });
    expect(lane.tryServe(pipelined.request, pipelined.response)).toBe(false);
    expect(lane.tryServe(cors.request, cors.response)).toBe(false);
    expect(lane.tryServe(unsatisfiable.request, unsatisfiable.response)).toBe(false);
    expect(takes(lane, 'GET')).toBe(true);
    slots.free = 0;
    expect(takes(lane, 'GET')).toBe(false);
  });

  it('drops an answer that is no longer current, and never keeps a download that cannot say so', async () => {
    const { lane } = await laneWith();
    lane.remember(answered(), download());
    expect(takes(lane, 'GET')).toBe(false);
    lane.remember(
      answered(),
      download(() => current),
    );
    expect(takes(lane, 'GET')).toBe(true);
    current = false;
    expect(takes(lane, 'GET')).toBe(false);
    // Dropped, not skipped: current again, it is still the application's.
    current = true;
    expect(takes(lane, 'GET')).toBe(false);
  });

  it('keeps at most 4,096 requests, dropping the oldest first', async () => {
    const { lane } = await laneWith();
    for (let index = 0; index <= 4096; index++) {
      const request = answered();
      request.originalUrl = `${URL_PATH}&n=${index}`;
      lane.remember(
        request,
        download(() => current),
      );
    }
    const numbered = (index: number) => {
      const { request, response } = incoming('GET');
      request.url = `${URL_PATH}&n=${index}`;
      return lane.tryServe(request, response);
    };
    // 4,096 kept: the second oldest to the newest.
    expect([0, 1, 4096].map(numbered)).toEqual([false, true, true]);
  });
});
