import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiProduces, ApiResponse, type OpenAPIObject } from '@nestjs/swagger';

const BINARY = { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } };
const ERROR_FIELDS = { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } };
const ERROR = { 'application/json': { schema: { type: 'object', properties: ERROR_FIELDS } } };

export const ASSISTED_ERRORS: Record<number, string> = {
  401: 'assisted-service refused the credential',
  403: 'assisted-service forbids access to this infra-env',
  502: 'assisted-service could not be reached or answered nonsense',
  504: 'assisted-service did not answer in time',
};

const optionalHeader = (name: string, description: string) => ApiHeader({ name, required: false, description });

export function ApiDownload(extra: Record<number, string> = {}): MethodDecorator {
  const errors: Record<number, string> = {
    400: 'Bad request: a missing or malformed parameter, or content that does not fit the image',
    404: 'No such image, version, architecture or infra-env',
    416: 'The Range cannot be satisfied',
    503: 'The requested image is not ready yet: the message gives its state, Retry-After when to ask again',
    ...extra,
  };
  return applyDecorators(
    ApiProduces('application/octet-stream'),
    optionalHeader('Range', 'A single byte range, e.g. bytes=0-65535'),
    optionalHeader('If-Modified-Since', 'Answer 304 when not modified since this date'),
    ApiResponse({ status: 200, description: 'The whole file', content: BINARY }),
    ApiResponse({ status: 206, description: 'The requested byte range', content: BINARY }),
    ApiResponse({ status: 304, description: 'Not modified since If-Modified-Since' }),
    ...Object.entries(errors).map(([status, description]) =>
      ApiResponse({ status: Number(status), description, content: ERROR }),
    ),
  );
}

/** Express answers HEAD with the GET route of the same path; this lists HEAD next to each download in the document. */
export function documentHeadRequests(document: OpenAPIObject): OpenAPIObject {
  for (const path of Object.values(document.paths)) {
    const get = path.get;
    if (get?.responses['206'] === undefined) continue;
    const summary = `${get.summary ?? 'Download'}: the headers only, with the exact Content-Length`;
    path.head = { ...get, summary, operationId: `${get.operationId ?? ''}_head` };
  }
  return document;
}
