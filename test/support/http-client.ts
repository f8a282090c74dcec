import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** For https:// URLs: the CA to trust (PEM). */
  readonly ca?: string;
  readonly maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
}

/** An HTTP(S) request that returns the body bytes exactly as sent (no decompression, HEAD supported). */
export function httpGet(url: string, options: RequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const common = { method: options.method ?? 'GET', headers: options.headers, agent: false as const };
    const onResponse = (response: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on('error', reject);
    };
    const request = url.startsWith('https:')
      ? httpsRequest(
          url,
          {
            ...common,
            ...(options.ca && { ca: options.ca }),
            ...(options.maxVersion && { maxVersion: options.maxVersion, minVersion: 'TLSv1' as const }),
          },
          onResponse,
        )
      : httpRequest(url, common, onResponse);
    request.on('error', reject);
    request.end();
  });
}

export function jsonOf(response: RawResponse): { statusCode?: number; message?: string } {
  return JSON.parse(response.body.toString('utf8')) as { statusCode?: number; message?: string };
}
