import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Node's parse error: llhttp's `reason` ("Invalid header value char") and the chunk the parser failed on. */
type ParseError = Error & { readonly code?: string; readonly reason?: string; readonly rawPacket?: Buffer };

/** The status Node itself sends for a request its parser refused (lib/_http_server.js), and why. */
const PARSE_ERRORS: Readonly<Record<string, { status: number; message: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, message: 'the request line and headers are larger than the server accepts' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, message: 'the chunk extensions of the request body are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'the request did not arrive in time' },
};

export function describeParseError(error: ParseError): { status: number; message: string } {
  const why = error.reason ?? error.code ?? error.message;
  return PARSE_ERRORS[error.code ?? ''] ?? { status: 400, message: `the request is not valid HTTP/1.1: ${why}` };
}

export function errorBody(status: number, message: string): object {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
}

/** A JSON error answer written straight to Node's response, for code that runs outside the application. */
export function answerJsonError(response: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify(errorBody(status, message));
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(body);
}

/**
 * A whole HTTP/1.1 error response for a socket without a request object. The body goes out only when the request is
 * known not to be HEAD: a client reads the body of a HEAD answer as the start of the next response.
 */
export function rawErrorResponse(status: number, message: string, withBody: boolean): string {
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, 'X-Content-Type-Options: nosniff'];
  const body = withBody ? JSON.stringify(errorBody(status, message)) : '';
  if (withBody)
    head.push('Content-Type: application/json; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`);
  return `${head.join('\r\n')}\r\nConnection: close\r\n\r\n${body}`;
}

/** The method of a refused request, when the chunk the parser failed on starts with its request line (usual). */
export function methodOfRawRequest(packet: Buffer | undefined): string | undefined {
  return packet === undefined ? undefined : /^([A-Z]{1,20}) /.exec(packet.subarray(0, 21).toString('latin1'))?.[1];
}

/** Connections that got their error answer and drain until the client closes or 5 s are up. */
const answered = new WeakSet<Duplex>();

function answerClientError(error: ParseError, socket: Duplex): void {
  // More bytes of the refused request fail the parser again: the answer is on its way already.
  if (answered.has(socket) && error.code !== 'ECONNRESET') return;
  const written = (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0;
  if (error.code === 'ECONNRESET' || !socket.writable || written > 0) return void socket.destroy();
  const { status, message } = describeParseError(error);
  const method = methodOfRawRequest(error.rawPacket);
  answered.add(socket);
  // end(), not destroy(): closing with unread request bytes resets the connection and may drop the answer unread.
  socket.end(rawErrorResponse(status, message, method !== undefined && method !== 'HEAD'));
  const linger = setTimeout(() => socket.destroy(), 5_000).unref();
  socket.once('close', () => clearTimeout(linger));
}

/** What Node answers before the application sees a request (malformed, too large, an `Expect`) gets a JSON body too. */
export function answerProtocolErrorsInJson(server: Server): void {
  server.on('clientError', answerClientError);
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const expectation = String(request.headers.expect);
    answerJsonError(response, 417, `unsupported expectation "${expectation}": only 100-continue is understood`);
  });
}
