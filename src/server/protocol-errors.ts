import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** How long a refused connection may stay half-open for the client to read the answer before it is cut. */
const LINGER_MS = 5_000;

interface ParseError extends Error {
  readonly code?: string;
  /** llhttp's words, e.g. "Invalid header value char". */
  readonly reason?: string;
  /** The chunk the parser was reading when it failed. */
  readonly rawPacket?: Buffer;
}

/** The body every error carries (reference §7): JSON with a message that says why. */
export function errorBody(status: number, message: string): string {
  return JSON.stringify({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message });
}

/**
 * A whole HTTP/1.1 error response, for a socket that has no request object to answer through. An answer to HEAD
 * must not have a body (the client would read it as the start of a next response), so the body goes out only when
 * the request is known to be something else.
 */
export function rawErrorResponse(status: number, message: string, withBody: boolean): string {
  const body = withBody ? errorBody(status, message) : '';
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'X-Content-Type-Options: nosniff',
    'Connection: close',
  ];
  if (withBody)
    head.push('Content-Type: application/json; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`);
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * The method of a refused request, when the chunk the parser failed on starts with its request line — the usual
 * case, as a request is written and read in one piece. The request itself was never parsed, so this is all there is.
 */
export function methodOfRawRequest(packet: Buffer | undefined): string | undefined {
  return packet === undefined ? undefined : /^([A-Z]{1,20}) /.exec(packet.subarray(0, 21).toString('latin1'))?.[1];
}

/** The status Node itself would send for a request its parser refused (lib/_http_server.js), and why. */
export function describeParseError(error: ParseError): { status: number; message: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'the request line and headers are larger than the server accepts' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'the chunk extensions of the request body are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'the request did not arrive in time' };
    default:
      return {
        status: 400,
        message: `the request is not valid HTTP/1.1: ${error.reason ?? error.code ?? error.message}`,
      };
  }
}

/** Connections that got their error answer and are draining until the client closes or the linger time is up. */
const answered = new WeakSet<Duplex>();

/** Node answers a request it cannot parse with a bare status line; ours says why, in JSON, then closes. */
function answerClientError(error: ParseError, socket: Duplex): void {
  // More bytes of the refused request fail the parser again; resetting now could drop the answer unread.
  if (answered.has(socket) && error.code !== 'ECONNRESET') return;
  const written = (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0;
  // A reset connection, or one already carrying a response, cannot take an answer.
  if (error.code === 'ECONNRESET' || !socket.writable || written > 0) {
    socket.destroy();
    return;
  }
  const { status, message } = describeParseError(error);
  // end() rather than destroy(): closing with unread request bytes would reset the connection and could drop the
  // answer before the client reads it. The timer bounds how long a client that never closes can hold the socket.
  const method = methodOfRawRequest(error.rawPacket);
  answered.add(socket);
  socket.end(rawErrorResponse(status, message, method !== undefined && method !== 'HEAD'));
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
}

/** `Expect` other than 100-continue: Node's default is a bare 417; this one says why. */
function answerUnsupportedExpectation(request: IncomingMessage, response: ServerResponse): void {
  const body = errorBody(
    417,
    `unsupported expectation "${String(request.headers.expect)}": only 100-continue is understood`,
  );
  response.writeHead(417, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(body);
}

/**
 * Errors Node's HTTP server answers before the application sees a request — malformed requests, headers too large,
 * unsupported `Expect` — get JSON bodies with a message like every other error (reference §7).
 */
export function answerProtocolErrorsInJson(server: Server): void {
  server.on('clientError', answerClientError);
  server.on('checkExpectation', answerUnsupportedExpectation);
}
