import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** How the stand-in mirror answers a path. */
export type SourceBehaviour =
  /** With `ranges`, answers `Range` (honouring `If-Range`) with 206 and sends an ETag, as a real mirror does. */
  | { kind: 'file'; path: string; ranges?: boolean }
  /** Announces `extraBytes` more than it sends, then closes the connection. */
  | { kind: 'short-body'; path: string; extraBytes: number }
  | { kind: 'status'; status: number }
  /** Sends at most `bytesPerSecond`. */
  | { kind: 'slow'; path: string; bytesPerSecond: number; ranges?: boolean }
  /** Sends headers and `afterBytes` bytes, then nothing more, keeping the connection open. */
  | { kind: 'stall'; path: string; afterBytes: number }
  | { kind: 'redirect'; location: string };

export interface RecordedRequest {
  readonly path: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
}

/**
 * A real HTTP(S) server on 127.0.0.1 standing in for an image mirror: each route serves a file with a chosen
 * misbehaviour, and every request is recorded so tests can check headers and query parameters.
 */
export class IsoSourceServer {
  readonly requests: RecordedRequest[] = [];
  private readonly routes = new Map<string, SourceBehaviour>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private readonly secure: boolean;

  constructor(tls?: { cert: string; key: string }) {
    this.secure = tls !== undefined;
    const handler = (request: IncomingMessage, response: ServerResponse): void => void this.handle(request, response);
    this.server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  route(path: string, behaviour: SourceBehaviour): this {
    this.routes.set(path, behaviour);
    return this;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(path: string): string {
    const { port } = this.server.address() as AddressInfo;
    return `${this.secure ? 'https' : 'http'}://127.0.0.1:${port}${path}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    this.requests.push({ path: url.pathname, url: request.url ?? '', headers: request.headers });
    const behaviour = this.routes.get(url.pathname);
    try {
      await serve(behaviour, request, response);
    } catch {
      response.destroy();
    }
  }
}

async function serve(
  behaviour: SourceBehaviour | undefined,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (behaviour === undefined) return void response.writeHead(404).end('not found');
  switch (behaviour.kind) {
    case 'status':
      return void response.writeHead(behaviour.status).end(`status ${behaviour.status}`);
    case 'redirect':
      return void response.writeHead(302, { location: behaviour.location }).end();
    case 'file': {
      const { start, end } = await answerRange(behaviour.path, behaviour.ranges === true, request, response);
      return pipeline(createReadStream(behaviour.path, { start, end }), response);
    }
    case 'short-body': {
      const { size } = await stat(behaviour.path);
      response.writeHead(200, { 'content-length': size + behaviour.extraBytes });
      await pipeline(createReadStream(behaviour.path), response, { end: false });
      return void response.socket?.destroy();
    }
    case 'slow': {
      const { start, end } = await answerRange(behaviour.path, behaviour.ranges === true, request, response);
      return pipeline(
        createReadStream(behaviour.path, { start, end, highWaterMark: 16 * 1024 }),
        new Throttle(behaviour.bytesPerSecond),
        response,
      );
    }
    case 'stall': {
      const { size } = await stat(behaviour.path);
      response.writeHead(200, { 'content-length': size });
      response.write(Buffer.alloc(behaviour.afterBytes));
      return;
    }
  }
}

/** Writes the head of a 200 or (for `bytes=N-` with a matching If-Range) a 206, and says which bytes to send. */
async function answerRange(
  path: string,
  ranges: boolean,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<{ start: number; end: number }> {
  const { size, mtimeMs } = await stat(path);
  const etag = `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
  const match = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
  const ifRange = request.headers['if-range'];
  const headers = { 'content-type': 'application/octet-stream', ...(ranges && { etag, 'accept-ranges': 'bytes' }) };
  if (ranges && match && (ifRange === undefined || ifRange === etag) && Number(match[1]) < size) {
    const start = Number(match[1]);
    response.writeHead(206, {
      ...headers,
      'content-length': size - start,
      'content-range': `bytes ${start}-${size - 1}/${size}`,
    });
    return { start, end: size - 1 };
  }
  response.writeHead(200, { ...headers, 'content-length': size });
  return { start: 0, end: Math.max(size - 1, 0) };
}

class Throttle extends Transform {
  constructor(private readonly bytesPerSecond: number) {
    super({ highWaterMark: 16 * 1024 });
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    setTimeout(() => callback(null, chunk), (chunk.length / this.bytesPerSecond) * 1000);
  }
}
