import { request, type IncomingMessage } from 'node:http';

/**
 * Starts a GET and hands back the response as soon as headers arrive, without reading the body: the caller decides
 * when to read, how much, and when to walk away (destroy), as a real client that aborts or reads slowly does.
 */
export function openDownload(
  url: string,
  headers: Record<string, string> = {},
): { response: Promise<IncomingMessage>; abort(): void } {
  const outgoing = request(url, { headers, agent: false });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    outgoing.once('response', resolve);
    outgoing.once('error', reject);
  });
  // A download the test abandons before its headers arrive rejects; that is expected, not an unhandled error.
  response.catch(() => undefined);
  outgoing.end();
  return { response, abort: () => outgoing.destroy() };
}

/** Reads until at least `bytes` body bytes arrived (or the body ended), then pauses the response. */
export function readAtLeast(response: IncomingMessage, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received >= bytes) finish();
    };
    const finish = (): void => {
      response.off('data', onData);
      response.pause();
      resolve(received);
    };
    response.on('data', onData);
    response.once('end', finish);
    response.once('error', reject);
  });
}
