import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  answerProtocolErrorsInJson,
  describeParseError,
  methodOfRawRequest,
  rawErrorResponse,
} from './protocol-errors.js';

describe('describeParseError', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 431],
    ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 413],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408],
    ['HPE_INVALID_HEADER_TOKEN', 400],
    [undefined, 400],
  ])('%s → %i, as Node answers it', (code, status) => {
    const error = Object.assign(new Error('Parse Error'), { code, reason: 'Invalid header token' });
    expect(describeParseError(error).status).toBe(status);
  });
});

describe('methodOfRawRequest', () => {
  it.each([
    ['GET /x HTTP/1.1\r\n', 'GET'],
    ['HEAD / HTTP/1.1', 'HEAD'],
    ['xx: continued header bytes', undefined],
    ['', undefined],
  ])('%j → %s', (packet, method) => {
    expect(methodOfRawRequest(Buffer.from(packet, 'latin1'))).toBe(method);
  });

  it('is undefined without a packet', () => {
    expect(methodOfRawRequest(undefined)).toBeUndefined();
  });
});

describe('rawErrorResponse', () => {
  it('declares the exact length of its JSON body', () => {
    const response = rawErrorResponse(400, 'bad “quotes”', true);
    const [head = '', body = ''] = response.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toEqual({ statusCode: 400, error: 'Bad Request', message: 'bad “quotes”' });
  });

  it('has no body when the request may have been HEAD', () => {
    const response = rawErrorResponse(431, 'too large', false);
    expect(response.endsWith('\r\n\r\n')).toBe(true);
    expect(response).not.toContain('Content-Length');
  });
});

describe('answerProtocolErrorsInJson on a real server', () => {
  let server: Server | undefined;

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  async function exchange(request: string): Promise<string> {
    server = createServer((_request, response) => response.end('reached the handler'));
    answerProtocolErrorsInJson(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.end(Buffer.from(request, 'latin1'));
    await once(socket, 'close');
    return Buffer.concat(chunks).toString('latin1');
  }

  it('answers a malformed request with a JSON 400 that says why', async () => {
    const answer = await exchange('GET /x HTTP/1.1\r\nHost: a\r\nX: a\u0001b\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.split('\r\n\r\n')[1] ?? '')).toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/not valid HTTP/),
    });
  });

  it('answers an unsupported Expect with a JSON 417 and never reaches the handler', async () => {
    const answer = await exchange('GET /x HTTP/1.1\r\nHost: a\r\nExpect: tea\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 417 /);
    expect(answer).not.toContain('reached the handler');
    expect(JSON.parse(answer.split('\r\n\r\n')[1] ?? '')).toMatchObject({
      statusCode: 417,
      message: expect.stringContaining('tea'),
    });
  });
});
