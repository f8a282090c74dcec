import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import type { HostileRequest } from './hostile-arbitraries.js';

export interface HostileResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body bytes exactly as they arrived until the server closed the connection. */
  readonly body: Buffer;
  readonly transport: 'http-client' | 'raw-socket';
}

// What Node's HTTP client itself refuses (lib/_http_outgoing.js, lib/_http_client.js): those requests go raw.
const CLIENT_PATH = /^[\u0021-\u00ff]+$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CLIENT_HEADER_VALUE = /^[\t\u0020-\u007e\u0080-\u00ff]*$/;

/** Whether Node's HTTP client can send this request as it is; otherwise it goes over a raw socket. */
function clientCanSend(request: HostileRequest): boolean {
  return (
    CLIENT_PATH.test(request.target) &&
    request.headers.every(([name, value]) => TOKEN.test(name) && CLIENT_HEADER_VALUE.test(value))
  );
}

/** Sends one request on a fresh connection (Connection: close) and reads the answer until the server closes. */
export function sendHostile(port: number, request: HostileRequest, timeoutMs = 30_000): Promise<HostileResponse> {
  const sent = clientCanSend(request) ? viaHttpClient(port, request) : viaRawSocket(port, request);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([sent, timeout]).finally(() => clearTimeout(timer));
}

function bodyBytes(request: HostileRequest): Buffer | undefined {
  return request.body === undefined ? undefined : Buffer.from(request.body.data, 'latin1');
}

function viaHttpClient(port: number, request: HostileRequest): Promise<HostileResponse> {
  const body = bodyBytes(request);
  // Headers as a list keep repeats and order; Node then adds no Host itself, and HTTP/1.1 without one is a 400.
  const headers = ['Host', `127.0.0.1:${port}`, ...request.headers.flatMap(([name, value]) => [name, value])];
  if (body !== undefined && request.body !== undefined)
    headers.push('Content-Type', request.body.contentType, 'Content-Length', String(body.length));
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: '127.0.0.1', port, method: request.method, path: request.target, headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
            transport: 'http-client',
          }),
        );
        response.on('error', reject);
        response.on('aborted', () => reject(new Error('the server cut the response short')));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function viaRawSocket(port: number, request: HostileRequest): Promise<HostileResponse> {
  const body = bodyBytes(request);
  const lines = [
    `${request.method} ${request.target} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Connection: close',
    ...request.headers.map(([name, value]) => `${name}: ${value}`),
  ];
  if (body !== undefined && request.body !== undefined)
    lines.push(`Content-Type: ${request.body.contentType}`, `Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const settle = (error?: Error): void => {
      try {
        resolve(parseRawResponse(Buffer.concat(chunks), request.method === 'HEAD'));
      } catch (parseError) {
        reject(error ?? parseError);
      }
    };
    // A server that answers and then resets (it refused the request mid-upload) still answered: parse what came.
    socket.on('error', (error) => settle(error));
    socket.on('close', () => settle());
    socket.write(body === undefined ? head : Buffer.concat([head, body]));
  });
}

/** Parses a whole HTTP/1.1 response read until close, skipping interim 1xx answers and undoing chunked coding. */
function parseRawResponse(bytes: Buffer, isHead: boolean): HostileResponse {
  let rest = bytes;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0)
      throw new Error(
        `no complete response head in ${bytes.length} bytes: ${JSON.stringify(bytes.subarray(0, 200).toString('latin1'))}`,
      );
    const [statusLine = '', ...headerLines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (match === null) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
    const status = Number(match[1]);
    rest = rest.subarray(end + 4);
    if (status >= 100 && status < 200) continue;
    const headers = parseHeaderLines(headerLines);
    const chunked = /chunked/i.test(String(headers['transfer-encoding'] ?? ''));
    const body = isHead || status === 204 || status === 304 ? rest : chunked ? dechunk(rest) : rest;
    return { status, headers, body, transport: 'raw-socket' };
  }
}

function parseHeaderLines(lines: readonly string[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const known = headers[name];
    if (name === 'set-cookie') headers[name] = [...(Array.isArray(known) ? known : []), value];
    else headers[name] = known === undefined ? value : `${String(known)}, ${value}`;
  }
  return headers;
}

function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', offset);
    if (lineEnd < 0) throw new Error('truncated chunked body');
    const size = Number.parseInt(bytes.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isInteger(size)) throw new Error('bad chunk size');
    if (size === 0) return Buffer.concat(parts);
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}
