import { BadRequestException, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';

/** Query strings remembered per DTO class; a BMC reading one ISO sends thousands of Range requests with one query. */
const MAX_REMEMBERED = 256;
/** Longer queries are validated every time rather than held in memory. */
const MAX_REMEMBERED_KEY_CHARS = 2048;

type DtoClass = NonNullable<ArgumentMetadata['metatype']>;

/**
 * A ValidationPipe that remembers the DTOs of queries it accepted. Validating with class-transformer and
 * class-validator was a tenth of the CPU of a 64 KiB Range request, and the answer depends only on the DTO class and
 * the query's parameters, so a query seen before gets a copy of the DTO validated then. Rejected queries are not
 * remembered: they are validated (and rejected) each time, so the error is the same.
 */
class RememberingValidationPipe extends ValidationPipe {
  private readonly accepted = new Map<DtoClass, Map<string, object>>();

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const { metatype } = metadata;
    const key = metadata.type === 'query' && metatype !== undefined ? rememberableKey(value) : undefined;
    if (metatype === undefined || key === undefined) return super.transform(value, metadata);
    const known = this.recall(metatype, key);
    if (known !== undefined) return copyOf(known);
    const dto: unknown = await super.transform(value, metadata);
    if (typeof dto === 'object' && dto !== null) this.remember(metatype, key, copyOf(dto));
    return dto;
  }

  /** Least recently used first: a hit moves to the end. */
  private recall(metatype: DtoClass, key: string): object | undefined {
    const byQuery = this.accepted.get(metatype);
    const known = byQuery?.get(key);
    if (byQuery === undefined || known === undefined) return undefined;
    byQuery.delete(key);
    byQuery.set(key, known);
    return known;
  }

  private remember(metatype: DtoClass, key: string, dto: object): void {
    const byQuery = this.accepted.get(metatype) ?? new Map<string, object>();
    this.accepted.set(metatype, byQuery);
    byQuery.set(key, dto);
    if (byQuery.size > MAX_REMEMBERED) byQuery.delete(byQuery.keys().next().value as string);
  }
}

/** A key for a query whose every value is one string (repeated or nested parameters are validated every time). */
function rememberableKey(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  // Express parses queries into null-prototype objects; anything more exotic is not a plain query.
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== null && prototype !== Object.prototype) return undefined;
  let key = '';
  for (const [name, parameter] of Object.entries(value)) {
    if (typeof parameter !== 'string') return undefined;
    // Length-prefixed, so that no two different queries give the same key, whatever characters they hold.
    key += `${name.length}:${name}${parameter.length}:${parameter}`;
    if (key.length > MAX_REMEMBERED_KEY_CHARS) return undefined;
  }
  return key;
}

/** A shallow copy with the same class: DTO fields are strings, and no request can change the remembered one. */
function copyOf<T extends object>(dto: T): T {
  return Object.assign(Object.create(Object.getPrototypeOf(dto) as object | null) as T, dto);
}

/**
 * Validates and transforms query DTOs. Repeated parameters (`?version=a&version=b`) arrive as arrays and fail
 * the string checks, which is the answer they deserve. One message per parameter, "is required" first.
 */
export const queryValidationPipe = new RememberingValidationPipe({
  transform: true,
  whitelist: true,
  forbidNonWhitelisted: false,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => {
    // A missing value and a repeated one (an array) fail every rule: name the first cause, not a length limit.
    const messages = errors.map(
      (error) =>
        error.constraints?.isDefined ??
        error.constraints?.isString ??
        Object.values(error.constraints ?? {})[0] ??
        `${error.property} is invalid`,
    );
    return new BadRequestException(messages.join('; ') || 'invalid query');
  },
});
