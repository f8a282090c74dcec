/**
 * Extra kernel arguments from assisted-service, checked before they are written into the ISO's
 * boot menus.
 *
 * An argument lands on GRUB's `linux` line (parsed by GRUB's shell-like script lexer) and on
 * isolinux's `append` line (taken verbatim), and must mean the same thing to both. The rule:
 * - printable ASCII only: no newline, carriage return, tab, NUL or other control characters
 *   (a newline would end the line and the embed area with it), nothing outside ASCII;
 * - never `$` (GRUB expands variables, even inside double quotes), `\` (GRUB escape) or `'`
 *   (GRUB strips single quotes, isolinux keeps them);
 * - double quotes must pair up; spaces are allowed only inside them (as assisted-service's
 *   own pattern allows, e.g. `foo="a b"`), since outside they would split the argument;
 * - outside double quotes none of `{ } | & ; < >`: GRUB reads them as operators, so `a;b`
 *   would run `b` as a command and the others break the menu entry (quote a URL with `&`);
 * - no leading `#`: at the start of a word GRUB reads the rest of the line as a comment. A `#`
 *   inside a word is plain text to GRUB, isolinux and the kernel, so it is allowed.
 */

/** kernel_arguments is not a JSON array of valid `{"operation": "append", "value": …}` items. */
export class InvalidKernelArgumentsError extends Error {
  override readonly name = 'InvalidKernelArgumentsError';
}

const GRUB_OPERATORS = new Set(['{', '}', '|', '&', ';', '<', '>']);

const CONTROL_NAMES: Record<string, string> = {
  '\n': 'a newline',
  '\r': 'a carriage return',
  '\t': 'a tab',
  '\0': 'a NUL byte',
};

/**
 * Parses assisted-service's `kernel_arguments` string (a JSON array such as
 * `[{"operation":"append","value":"p1"}]`) into the argument values, in order. A blank string
 * or `null` means no arguments.
 */
export function parseKernelArguments(json: string): string[] {
  if (json.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new InvalidKernelArgumentsError(`kernel_arguments is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) {
    throw new InvalidKernelArgumentsError('kernel_arguments must be a JSON array of {operation, value} objects');
  }
  return parsed.map((item: unknown, index) => parseKernelArgumentItem(item, index));
}

function parseKernelArgumentItem(item: unknown, index: number): string {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new InvalidKernelArgumentsError(`kernel_arguments[${index}] is not an {operation, value} object`);
  }
  const { operation, value } = item as Record<string, unknown>;
  if (operation !== 'append') {
    throw new InvalidKernelArgumentsError(
      `kernel_arguments[${index}]: operation ${JSON.stringify(operation)} is not supported; only "append" is`,
    );
  }
  if (typeof value !== 'string') {
    throw new InvalidKernelArgumentsError(`kernel_arguments[${index}]: value must be a string`);
  }
  const problem = kernelArgumentProblem(value);
  if (problem !== undefined) {
    throw new InvalidKernelArgumentsError(`kernel_arguments[${index}]: value ${JSON.stringify(value)} ${problem}`);
  }
  return value;
}

/** Throws InvalidKernelArgumentsError unless `value` satisfies the rule at the top of this file. */
export function assertValidKernelArgument(value: string): void {
  const problem = kernelArgumentProblem(value);
  if (problem !== undefined) {
    throw new InvalidKernelArgumentsError(`kernel argument ${JSON.stringify(value)} ${problem}`);
  }
}

/** Why `value` may not be written to the boot menus, or undefined when it may. */
export function kernelArgumentProblem(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (value.startsWith('#')) return "starts with '#' (GRUB would read the rest of the line as a comment)";
  let inQuotes = false;
  for (const char of value) {
    const problem = characterProblem(char, inQuotes);
    if (problem !== undefined) return problem;
    if (char === '"') inQuotes = !inQuotes;
  }
  return inQuotes ? 'has an unpaired double quote' : undefined;
}

function characterProblem(char: string, inQuotes: boolean): string | undefined {
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) {
    const name = CONTROL_NAMES[char] ?? `control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    return `contains ${name}`;
  }
  if (code > 0x7e) return 'contains a non-ASCII character';
  if (char === '$') return "contains '$' (GRUB would expand it as a variable)";
  if (char === '\\') return "contains '\\' (GRUB treats it as an escape)";
  if (char === "'") return 'contains a single quote (GRUB removes it, isolinux does not)';
  if (inQuotes) return undefined;
  if (char === ' ') return 'contains a space outside double quotes (it would split the argument)';
  if (GRUB_OPERATORS.has(char)) return `contains '${char}' outside double quotes (a GRUB script operator)`;
  return undefined;
}
