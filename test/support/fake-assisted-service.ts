import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/** What one infra-env returns through the three calls (docs/assisted-service.md). */
export interface InfraEnvFixture {
  readonly id: string;
  /** Body of `downloads/files?file_name=discovery.ign`. */
  readonly ignition: string | Buffer;
  readonly lastModified?: Date;
  /** Body of `downloads/minimal-initrd`; undefined answers 204 (no ramdisk). */
  readonly ramdisk?: Buffer;
  /** The infra-env's `kernel_arguments` string (a JSON array in a string); undefined leaves the field out. */
  readonly kernelArguments?: string;
  /** When set, a request must present one of these, or it gets 401. */
  readonly credentials?: { readonly apiKey?: string; readonly imageToken?: string; readonly authorization?: string };
}

export type CallKind = 'ignition' | 'minimal-initrd' | 'infra-env' | 'other';

/** A misbehaviour for one kind of call. */
export type Fault =
  | { readonly kind: 'status'; readonly status: number; readonly body?: string }
  | { readonly kind: 'hang' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'body'; readonly body: string | Buffer }
  /** 200 with a Content-Length, part of the body, then silence until the client gives up. */
  | { readonly kind: 'stall' }
  /** 200 without a Content-Length, `body`, then silence until the client gives up (a large answer still arriving). */
  | { readonly kind: 'partial'; readonly body: Buffer }
  /** A redirect to `location` (with no body). */
  | { readonly kind: 'redirect'; readonly status: number; readonly location: string }
  /** No answer until `until` settles (see answerGate), then the usual one: as slow as the test decides, no clock. */
  | { readonly kind: 'hold'; readonly until: Promise<void> };

/** What a 'hold' fault waits for: the test opens it once the client got what it was waiting for. */
export function answerGate(): { readonly until: Promise<void>; readonly open: () => void } {
  let open = (): void => undefined;
  const until = new Promise<void>((resolve) => (open = resolve));
  return { until, open };
}

export interface RecordedCall {
  readonly kind: CallKind;
  readonly method: string;
  readonly path: string;
  /** The request-target exactly as it arrived, before any URL parsing normalised it. */
  readonly target: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
}

const PREFIX = '/api/assisted-install/v2/infra-envs/';

/**
 * A stand-in assisted-service (API v2) on 127.0.0.1: a real HTTP(S) server that answers the calls the image
 * service makes, records them, checks credentials, and can be told to misbehave per kind of call.
 */
export class FakeAssistedService {
  readonly calls: RecordedCall[] = [];
  /** Kinds of the calls whose connection closed before the response was complete (client gone, reset), in order. */
  readonly abandoned: CallKind[] = [];
  private readonly infraEnvs = new Map<string, InfraEnvFixture>();
  private readonly faults = new Map<CallKind, Fault>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private readonly secure: boolean;

  constructor(tls?: { readonly cert: string; readonly key: string }) {
    this.secure = tls !== undefined;
    const handler = (request: IncomingMessage, response: ServerResponse): void => void this.handle(request, response);
    this.server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  addInfraEnv(fixture: InfraEnvFixture): this {
    this.infraEnvs.set(fixture.id, fixture);
    return this;
  }

  setFault(kind: CallKind, fault: Fault | undefined): this {
    if (fault === undefined) this.faults.delete(kind);
    else this.faults.set(kind, fault);
    return this;
  }

  callsOf(kind: CallKind): RecordedCall[] {
    return this.calls.filter((call) => call.kind === kind);
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `${this.secure ? 'https' : 'http'}://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const route = parseRoute(url.pathname);
    this.calls.push({
      kind: route.kind,
      method: request.method ?? '',
      path: url.pathname,
      target: request.url ?? '',
      query: url.searchParams,
      headers: request.headers,
    });
    response.once('close', () => {
      if (!response.writableFinished) this.abandoned.push(route.kind);
    });
    const fault = this.faults.get(route.kind);
    if (fault !== undefined && (await applyFault(fault, request, response))) return;
    const infraEnv = route.id === undefined ? undefined : this.infraEnvs.get(route.id);
    if (route.kind === 'other' || infraEnv === undefined)
      return sendError(response, 404, `infra-env ${route.id ?? '?'} not found`);
    if (!authorized(infraEnv, request, url)) return sendError(response, 401, 'unauthorized');
    if (route.kind === 'ignition') return sendIgnition(infraEnv, url, response);
    if (route.kind === 'minimal-initrd') return sendRamdisk(infraEnv, response);
    return sendJson(response, 200, infraEnvBody(infraEnv));
  }
}

function parseRoute(path: string): { kind: CallKind; id?: string } {
  if (!path.startsWith(PREFIX)) return { kind: 'other' };
  const [id, ...rest] = path.slice(PREFIX.length).split('/');
  const tail = rest.join('/');
  if (id === undefined || id === '') return { kind: 'other' };
  if (tail === '') return { kind: 'infra-env', id };
  if (tail === 'downloads/files') return { kind: 'ignition', id };
  if (tail === 'downloads/minimal-initrd') return { kind: 'minimal-initrd', id };
  return { kind: 'other', id };
}

/** Returns true when the fault answered the request itself. */
async function applyFault(fault: Fault, request: IncomingMessage, response: ServerResponse): Promise<boolean> {
  switch (fault.kind) {
    case 'status':
      sendError(response, fault.status, fault.body ?? `fault ${fault.status}`);
      return true;
    case 'hang':
      request.socket.once('close', () => response.destroy());
      return true;
    case 'reset':
      response.writeHead(200, { 'content-length': '1000' });
      response.write('{"partial":');
      setTimeout(() => request.socket.resetAndDestroy(), 20);
      return true;
    case 'delay':
      await new Promise((resolve) => setTimeout(resolve, fault.ms));
      return false;
    case 'hold':
      await fault.until;
      return false;
    case 'body':
      // No Content-Length: the client learns the size only by reading.
      response.writeHead(200, { 'content-type': 'application/json' });
      void writeBody(response, fault.body);
      return true;
    case 'partial':
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).write(fault.body);
      request.socket.once('close', () => response.destroy());
      return true;
    case 'stall':
      response.writeHead(200, { 'content-length': '1000' });
      response.write('{"partial":');
      request.socket.once('close', () => response.destroy());
      return true;
    case 'redirect':
      response.writeHead(fault.status, { location: fault.location }).end();
      return true;
  }
}

function authorized(infraEnv: InfraEnvFixture, request: IncomingMessage, url: URL): boolean {
  const expected = infraEnv.credentials;
  if (expected === undefined) return true;
  return (
    (expected.apiKey !== undefined && url.searchParams.get('api_key') === expected.apiKey) ||
    (expected.imageToken !== undefined && request.headers['image-token'] === expected.imageToken) ||
    (expected.authorization !== undefined && request.headers.authorization === expected.authorization)
  );
}

function sendIgnition(infraEnv: InfraEnvFixture, url: URL, response: ServerResponse): void {
  if (url.searchParams.get('file_name') !== 'discovery.ign') return sendError(response, 400, 'unknown file_name');
  const body = typeof infraEnv.ignition === 'string' ? Buffer.from(infraEnv.ignition) : infraEnv.ignition;
  // Like assisted-service's file responder: the length is declared.
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-length': String(body.length),
  };
  if (infraEnv.lastModified !== undefined) headers['last-modified'] = infraEnv.lastModified.toUTCString();
  response.writeHead(200, headers);
  void writeBody(response, body);
}

function sendRamdisk(infraEnv: InfraEnvFixture, response: ServerResponse): void {
  if (infraEnv.ramdisk === undefined) return void response.writeHead(204).end();
  response.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(infraEnv.ramdisk.length),
  });
  void writeBody(response, infraEnv.ramdisk);
}

/**
 * Writes `body` as the client reads it, ending the response only after the last chunk: a client that closes the
 * connection early leaves it unfinished, so `abandoned` sees it. (Handing a large body to `end()` at once lets
 * Node report it finished even when most of it never left.)
 */
async function writeBody(response: ServerResponse, body: string | Buffer): Promise<void> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const chunkSize = 64 * 1024;
  for (let at = 0; at < bytes.length; at += chunkSize) {
    if (response.destroyed) return;
    if (!response.write(bytes.subarray(at, at + chunkSize))) await drainedOrClosed(response);
  }
  if (!response.destroyed) response.end();
}

function drainedOrClosed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

function infraEnvBody(infraEnv: InfraEnvFixture): Record<string, unknown> {
  return {
    id: infraEnv.id,
    kind: 'InfraEnv',
    name: `infra-env-${infraEnv.id.slice(0, 8)}`,
    ...(infraEnv.kernelArguments === undefined ? {} : { kernel_arguments: infraEnv.kernelArguments }),
  };
}

/** assisted-service's error body shape. */
function sendError(response: ServerResponse, status: number, reason: string): void {
  sendJson(response, status, { code: String(status), href: '', id: status, kind: 'Error', reason });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
