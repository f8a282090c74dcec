import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiProduces, ApiResponse } from '@nestjs/swagger';

const ERROR_SCHEMA = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } },
};

/** The responses every download route shares (reference §7). */
export function ApiDownloadResponses(
  extra: { status: number; description: string }[] = [],
): MethodDecorator & ClassDecorator {
  const errors = [
    {
      status: 400,
      description: 'Bad request: a missing or malformed parameter, or content that does not fit the image',
    },
    { status: 404, description: 'No such image, version, architecture or infra-env' },
    { status: 416, description: 'The Range cannot be satisfied' },
    {
      status: 503,
      description: 'The requested image is not ready yet: the message gives its state, Retry-After when to ask again',
    },
    ...extra,
  ];
  return applyDecorators(
    ApiProduces('application/octet-stream'),
    ApiHeader({ name: 'Range', required: false, description: 'A single byte range, e.g. bytes=0-65535' }),
    ApiHeader({
      name: 'If-Modified-Since',
      required: false,
      description: 'Answer 304 when not modified since this date',
    }),
    ApiResponse({
      status: 200,
      description: 'The whole file',
      content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
    }),
    ApiResponse({
      status: 206,
      description: 'The requested byte range',
      content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
    }),
    ApiResponse({ status: 304, description: 'Not modified since If-Modified-Since' }),
    ...errors.map(({ status, description }) =>
      ApiResponse({ status, description, content: { 'application/json': { schema: ERROR_SCHEMA } } }),
    ),
  );
}

/** Errors passed on from assisted-service (reference §8). */
export const ASSISTED_ERRORS = [
  { status: 401, description: 'assisted-service refused the credential' },
  { status: 403, description: 'assisted-service forbids access to this infra-env' },
  { status: 502, description: 'assisted-service could not be reached or answered nonsense' },
  { status: 504, description: 'assisted-service did not answer in time' },
];
