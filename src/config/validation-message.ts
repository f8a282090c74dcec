import type { ValidationError } from 'class-validator';

/**
 * The first problem of a class-validator result as `property message`, descending into nested objects so an
 * error deep in a catalog entry reads `url must be …` rather than a generic "nested property is invalid".
 */
export function firstValidationProblem(errors: readonly ValidationError[]): string | undefined {
  const [error] = errors;
  if (error === undefined) return undefined;
  const constraints = error.constraints ?? {};
  // A missing value fails every rule; "is required" is the one worth reading.
  const message = constraints.isDefined ?? Object.values(constraints)[0];
  if (message !== undefined) return `${error.property} ${message}`;
  const nested = firstValidationProblem(error.children ?? []);
  return nested === undefined ? `${error.property} is invalid` : `${error.property}.${nested}`;
}
