import { accessSync, constants, statSync } from 'node:fs';
import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { MalformedJson } from './env-transforms.js';

function decorator(
  name: string,
  isValid: (value: unknown) => boolean,
  message: (args: ValidationArguments) => string,
  options?: ValidationOptions,
): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message, ...options },
      validator: { validate: isValid },
    });
  };
}

export function isReadableFile(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    accessSync(value, constants.R_OK);
    return statSync(value).isFile();
  } catch {
    return false;
  }
}

/** The value names a regular file this process can read. */
export function IsReadableFile(options?: ValidationOptions): PropertyDecorator {
  return decorator(
    'isReadableFile',
    isReadableFile,
    (args) => `file "${String(args.value)}" does not exist or is not readable`,
    options,
  );
}

/** Variables whose values may hold credentials: never echoed in an error. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  'OS_IMAGES_REQUEST_HEADERS',
  'OS_IMAGES_REQUEST_QUERY_PARAMS',
]);

function jsonProblem(args: ValidationArguments): string {
  // The parser quotes the offending text, which for a secret variable is the secret.
  if (SECRET_VARIABLES.has(args.property) || !(args.value instanceof MalformedJson)) return 'is not valid JSON';
  return `is not valid JSON (${args.value.reason})`;
}

/** The value parsed as JSON (see `toJson`). */
export function IsWellFormedJson(options?: ValidationOptions): PropertyDecorator {
  return decorator('isWellFormedJson', (value) => !(value instanceof MalformedJson), jsonProblem, options);
}

export function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((item) => typeof item === 'string')
  );
}

/** A JSON object whose values are all strings, e.g. `{"Authorization": "Bearer …"}`. Values are never echoed. */
export function IsStringMap(options?: ValidationOptions): PropertyDecorator {
  return decorator(
    'isStringMap',
    (value) => value instanceof MalformedJson || isStringMap(value),
    () => 'must be a JSON object whose values are strings',
    options,
  );
}

export function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

export function IsHttpUrl(options?: ValidationOptions): PropertyDecorator {
  return decorator(
    'isHttpUrl',
    isHttpUrl,
    (args) => `must be an http:// or https:// URL (got "${String(args.value)}")`,
    options,
  );
}

/** An http(s) URL for catalog downloads, or a file:// URL for offline mirrors. */
export function isImageSourceUrl(value: unknown): boolean {
  if (isHttpUrl(value)) return true;
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'file:' && url.pathname.length > 1;
  } catch {
    return false;
  }
}

export function IsImageSourceUrl(options?: ValidationOptions): PropertyDecorator {
  return decorator(
    'isImageSourceUrl',
    isImageSourceUrl,
    (args) => `must be an http://, https:// or file:// URL (got "${String(args.value)}")`,
    options,
  );
}
