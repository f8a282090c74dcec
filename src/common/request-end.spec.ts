import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { pipelinedOn, requestEnd } from './request-end.js';

interface Seen {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  ends: number;
}

let server: Server;
let seen: Seen[];
let clients: Socket[];

/** A real server whose handler only tracks each request's end and leaves the answering to the test. */
beforeEach(async () => {
  seen = [];
  clients = [];
  server = createServer((request, response) => {
    const entry: Seen = { request, response, ends: 0 };
    requestEnd(response).onEnd(() => (entry.ends += 1));
    seen.push(entry);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  for (const client of clients) client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

async function send(text: string): Promise<Socket> {
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  client.on('error', () => undefined);
  clients.push(client);
  client.write(text);
  return client;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

function entry(index: number): Seen {
  const found = seen[index];
  if (found === undefined) throw new Error(`no request ${index} yet`);
  return found;
}

const GET = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';

describe('RequestEnd', () => {
  it('calls back once when the response finishes, and at once for a listener added later', async () => {
    await send(GET);
    await until(() => seen.length === 1);
    const [first] = seen;
    first?.response.end('done');
    // 'finish' and then 'close' both came: still one call.
    await until(() => first?.ends === 1 && first.response.closed);
    expect(first?.ends).toBe(1);
    let late = 0;
    requestEnd(entry(0).response).onEnd(() => (late += 1));
    expect(late).toBe(1);
  });

  it('ends pipelined requests queued behind an unanswered one when the connection closes', async () => {
    const client = await send(GET.repeat(3));
    await until(() => seen.length === 3);
    expect(seen.map((each) => requestEnd(each.response).atHeadOfLine)).toEqual([true, false, false]);
    expect(pipelinedOn(entry(0).request.socket)).toBe(2);
    client.destroy();
    await until(() => seen.every((each) => each.ends === 1));
    expect(pipelinedOn(entry(0).request.socket)).toBe(0);
  });

  it('lets a queued response know when it reaches the head of its connection, or that it never will', async () => {
    const client = await send(GET.repeat(3));
    await until(() => seen.length === 3);
    const [first, second, third] = [0, 1, 2].map((index) => requestEnd(entry(index).response));
    const secondTurn = second?.untilHeadOfLine();
    entry(0).response.end('first');
    expect(await secondTurn).toBe(true);
    expect(first?.ended).toBe(true);
    const thirdTurn = third?.untilHeadOfLine();
    client.destroy();
    expect(await thirdTurn).toBe(false);
    expect(third?.ended).toBe(true);
  });
});
