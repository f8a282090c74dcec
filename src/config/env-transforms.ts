import type { TransformFnParams } from 'class-transformer';

/** Kubernetes manifests often set a variable to "" to mean "not set"; treat blank values as absent. */
export function blankToUndefined({ value }: TransformFnParams): unknown {
  return typeof value === 'string' && value.trim() === '' ? undefined : value;
}

/** Decimal integers become numbers; anything else stays a string so the validator reports it. */
export function toInteger(params: TransformFnParams): unknown {
  const value = blankToUndefined(params);
  return typeof value === 'string' && /^\s*\d{1,15}\s*$/.test(value) ? Number(value) : value;
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

export function toBoolean(params: TransformFnParams): unknown {
  const value = blankToUndefined(params);
  if (typeof value !== 'string') return value;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return value;
}

export function toTrimmedLowercase(params: TransformFnParams): unknown {
  const value = blankToUndefined(params);
  return typeof value === 'string' ? value.trim().toLowerCase() : value;
}

export function toCommaList(params: TransformFnParams): unknown {
  const value = blankToUndefined(params);
  if (typeof value !== 'string') return value;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Marks a value that was meant to be JSON and is not; the validator turns it into a message. */
export class MalformedJson {
  constructor(readonly reason: string) {}
}

export function toJson(params: TransformFnParams): unknown {
  const value = blankToUndefined(params);
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    return new MalformedJson(error instanceof Error ? error.message : String(error));
  }
}
