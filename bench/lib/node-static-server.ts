// Fallback baseline when nginx is absent: a minimal static file server (one file, single Range requests),
// run as its own process so its CPU and memory can be measured apart from the client. With a certificate and
// key it speaks HTTPS, TLS 1.2 or later as the service does.
// Usage: node --import tsx bench/lib/node-static-server.ts <file> <port> [<cert.pem> <key.pem>]
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { pipeline } from 'node:stream';

const [file, portText, certFile, keyFile] = process.argv.slice(2);
if (file === undefined || portText === undefined || (certFile === undefined) !== (keyFile === undefined)) {
  process.stderr.write('usage: node-static-server.ts <file> <port> [<cert.pem> <key.pem>]\n');
  process.exit(64);
}
const size = statSync(file).size;

/** Inclusive byte bounds of a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range, or 'unsatisfiable'. */
function parseRange(header: string): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null || (match[1] === '' && match[2] === '')) return undefined;
  const [first, last] = [match[1] ?? '', match[2] ?? ''];
  const start = first === '' ? Math.max(0, size - Number(last)) : Number(first);
  const end = first === '' || last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

const serve: RequestListener = (request, response) => {
  const range = request.headers.range === undefined ? undefined : parseRange(request.headers.range);
  if (range === 'unsatisfiable') return void response.writeHead(416, { 'content-range': `bytes */${size}` }).end();
  const { start, end } = range ?? { start: 0, end: size - 1 };
  response.writeHead(range === undefined ? 200 : 206, {
    'content-type': 'application/octet-stream',
    'content-length': end - start + 1,
    'accept-ranges': 'bytes',
    ...(range !== undefined && { 'content-range': `bytes ${start}-${end}/${size}` }),
  });
  if (request.method === 'HEAD') return void response.end();
  pipeline(createReadStream(file, { start, end, highWaterMark: 1024 * 1024 }), response, () => undefined);
};

const server =
  certFile === undefined || keyFile === undefined
    ? createServer(serve)
    : createHttpsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' }, serve);
server.listen(Number(portText), '127.0.0.1', () => process.stdout.write('listening\n'));
